# cortexm.mk - build rules shared by the Cortex-M boards. A board Makefile sets
#   BOARD      board name (HELLO, banner)        CPU     -mcpu value
#   RAM_BYTES  board RAM reported by HELLO       FLASH_BYTES  RAM array for the 2 slots
#   ARENA_BYTES  arena                           TICK_Q32  instructions per SysTick count (Q32)
# and includes this file. Targets:
#   make [OUT=dir] [APP=full|serve|infer|noop] [FAULT=0|1|2]
# APP=full (default): the protocol firmware with on-device fine-tuning; serve: the same
# without fine-tuning (-DESNN_DEVICE_FINETUNE=0); infer: inference only; noop: the
# baseline for the framework cost. FAULT=1 crashes at boot, FAULT=2 on the first request
# (tests of the crash report). The output is $(OUT)/firmware.elf.
CROSS ?= arm-none-eabi-
CC := $(CROSS)gcc
AR := $(CROSS)gcc-ar
SIZE := $(CROSS)size
APP ?= full
FAULT ?= 0
OUT ?= build/$(APP)

HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
CM := $(HERE:/=)
ROOT := $(abspath $(CM)/../..)
RT := $(ROOT)/runtime_c
BOARD_DIR := $(CURDIR)

ARCH := -mthumb -mcpu=$(CPU) -mfloat-abi=soft
OPT := -Os -flto -ffunction-sections -fdata-sections -fno-common
WARN := -Wall -Wextra -Werror
DEFS := -DBOARD_NAME='"$(BOARD)"' -DBOARD_RAM_BYTES=$(RAM_BYTES)u \
        -DBOARD_FLASH_BYTES=$(FLASH_BYTES)u -DBOARD_ARENA_BYTES=$(ARENA_BYTES)u \
        -DBOARD_TICK_Q32=$(TICK_Q32)u -DCM_FAULT=$(FAULT)
# the runtime's build options (runtime_c/include/esnn_config.h) per APP: serve drops the
# FINETUNE_* commands, the training engine and the trainer's state in esnn_device; every
# firmware leaves out the trainer's verify mode, a host-side debugging aid, and the
# streaming mode, which no serial command uses yet (esnn_config.h: ESNN_STREAM). The board
# sources get them too: esnn_device's size depends on ESNN_DEVICE_FINETUNE.
RT_DEFS_serve := -DESNN_DEVICE_FINETUNE=0
RT_OPTS := -DESNN_TRAIN_VERIFY=0 -DESNN_STREAM=0 $(RT_DEFS_$(APP))
RT_CFLAGS := -std=c99 -pedantic $(WARN) $(ARCH) $(OPT) -I$(RT)/include -I$(RT)/src $(RT_OPTS)
CM_CFLAGS := -std=gnu99 $(WARN) $(ARCH) $(OPT) $(DEFS) $(RT_OPTS) -I$(CM) -I$(RT)/include
LDFLAGS := $(ARCH) -Os -flto -nostartfiles -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs \
           -L$(CM) -T$(BOARD_DIR)/board.ld

RT_SRCS := $(sort $(wildcard $(RT)/src/*.c))
RT_HDRS := $(wildcard $(RT)/include/*.h $(RT)/src/*.h)
# the runtime is the same for every APP but serve: one archive per board, shared
RT_OUT := $(abspath $(OUT)/..)/$(if $(RT_DEFS_$(APP)),rt-$(APP),rt)
RT_OBJS := $(patsubst $(RT)/src/%.c,$(RT_OUT)/%.o,$(RT_SRCS))
RT_LIB := $(RT_OUT)/libedgesnn.a

SRCS_full := $(CM)/startup.c $(CM)/semihost.c $(CM)/cm_io.c $(CM)/systick.c $(CM)/main.c
SRCS_serve := $(SRCS_full)
SRCS_infer := $(CM)/startup.c $(CM)/semihost.c $(CM)/cm_io.c $(CM)/infer_main.c
SRCS_noop := $(CM)/startup.c $(CM)/semihost.c $(CM)/cm_io.c $(CM)/noop_main.c
SRCS := $(SRCS_$(APP)) $(BOARD_DIR)/board.c
ifeq ($(SRCS_$(APP)),)
$(error APP must be full, serve, infer or noop)
endif
OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(notdir $(SRCS)))
ELF := $(OUT)/firmware.elf
LIBS := $(if $(filter noop,$(APP)),,$(RT_LIB))

.PHONY: all size clean
all: $(ELF)

$(RT_OUT)/%.o: $(RT)/src/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -c $< -o $@

$(RT_LIB): $(RT_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(OUT)/obj/%.o: $(CM)/%.c $(CM)/cortexm.h $(wildcard $(RT)/include/*.h) $(BOARD_DIR)/Makefile $(OUT)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CM_CFLAGS) -c $< -o $@

$(OUT)/obj/board.o: $(BOARD_DIR)/board.c $(CM)/cortexm.h $(wildcard $(RT)/include/*.h) $(BOARD_DIR)/Makefile $(OUT)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CM_CFLAGS) -c $< -o $@

# rebuild when the -D flags change (FAULT, sizes)
$(OUT)/.flags: FORCE
	@mkdir -p $(OUT)
	@echo '$(CM_CFLAGS)' | cmp -s - $@ || echo '$(CM_CFLAGS)' > $@
FORCE:

$(ELF): $(OBJS) $(LIBS) $(BOARD_DIR)/board.ld $(CM)/cortexm.ld
	$(CC) $(LDFLAGS) -Wl,-Map=$(OUT)/firmware.map $(OBJS) $(LIBS) -o $@
	$(SIZE) $@

size: $(ELF)
	$(SIZE) $(ELF)

clean:
	rm -rf $(OUT) $(RT_OUT)

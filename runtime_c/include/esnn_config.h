/*
 * esnn_config.h - the build options of the edgesnn C core, each with its default.
 *
 * Every option is a 0/1 macro set on the compiler's command line, as CMSIS-NN's
 * ARM_MATH_DSP is (-DESNN_CONV_PLANE=0); the defaults below apply when it is not set.
 * edgesnn.h includes this file because ESNN_DEVICE_FINETUNE changes the size of
 * esnn_device: compile the runtime and the firmware that owns the esnn_device with the
 * same options. The Cortex-M firmware's choices are in boards/cortexm/cortexm.mk, the
 * host builds (cffi extension, host board, C tests) keep the defaults.
 */
#ifndef ESNN_CONFIG_H
#define ESNN_CONFIG_H

/* ESNN_CONV_PLANE: the plane kernel for few-tap conv layers (esnn_conv2d_plane.c).
 * Its portable loop pays off where the compiler vectorises it (hosts) and its
 * register form needs the DSP extension (Cortex-M4/M7); on a scalar core without
 * either (Cortex-M0/M3) it saves only about 7% of an inference for about 1.1 KB of
 * flash, so there the patch kernel takes few-tap layers as well. Default: 0 on an Arm
 * core without DSP or NEON, 1 elsewhere. */
#ifndef ESNN_CONV_PLANE
#if defined(__arm__) && !defined(__ARM_FEATURE_DSP) && !defined(__ARM_NEON)
#define ESNN_CONV_PLANE 0
#else
#define ESNN_CONV_PLANE 1
#endif
#endif

/* ESNN_TRAIN_VERIFY: the fine-tuning engine's verify mode (esnn_train_config.verify),
 * a debugging aid that needs the stored mode's arena on top of the reversible one.
 * The Cortex-M firmware leaves it out (-DESNN_TRAIN_VERIFY=0, 356 B on Cortex-M3): the
 * board computes the host's bits exactly, so a verify run on the host checks the
 * board's arithmetic too, and on the small boards the stored arena would not fit.
 * Default: 1. */
#ifndef ESNN_TRAIN_VERIFY
#define ESNN_TRAIN_VERIFY 1
#endif

/* ESNN_DEVICE_FINETUNE: the device's FINETUNE_* commands (docs/protocol.md). With 0
 * a firmware leaves out the commands, the fine-tuning engine, the soft-float support
 * and the trainer's state in esnn_device; HELLO then clears the feature bit and the
 * commands answer UNKNOWN_CMD. Default: 1. */
#ifndef ESNN_DEVICE_FINETUNE
#define ESNN_DEVICE_FINETUNE 1
#endif

/* ESNN_STREAM: the streaming mode of causal blobs (esnn_stream_reset / _step / _output,
 * esnn_arena_bytes with ESNN_MODE_STREAM; docs/format.md "Streaming"). Its functions sit
 * in their own files (esnn_stream_*.c, esnn_neuron_stream.c), which a firmware that
 * never calls them drops at link time; the option removes what it adds to code every
 * firmware links (the neuron sink's dispatch, the arena query), so a build with 0 is
 * byte for byte the firmware without streaming, and its stream calls answer
 * ESNN_ERR_MODE. The Cortex-M firmware sets 0 (boards/cortexm/cortexm.mk): no serial
 * command streams yet, and the Cortex-M3 full build has under 200 B of its 24 KiB
 * budget left. Default: 1 (the host: cffi extension, host board, C tests). */
#ifndef ESNN_STREAM
#define ESNN_STREAM 1
#endif

#endif /* ESNN_CONFIG_H */

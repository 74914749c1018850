# The cffi extension (the C core compiled into Python) needs setup.py's cffi_modules
# hook; all other metadata lives in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["edgesnn/_ffi_build.py:ffibuilder"])

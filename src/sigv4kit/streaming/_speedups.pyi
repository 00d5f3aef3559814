# The C accelerator's type (_speedups.c): the same members and hot paths as
# the pure-Python core it mirrors.
from ._decoder_core import PyDecoderCore

class DecoderCore(PyDecoderCore): ...

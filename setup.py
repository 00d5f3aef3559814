"""The optional C accelerator of the aws-chunked decoder (everything else is
in pyproject.toml).

``sigv4kit.streaming._speedups`` runs the chunk decoder's hot paths in C
(``src/sigv4kit/streaming/_speedups.c``; zlib for CRC-32).  It is optional:
where it cannot be built (no compiler, no zlib headers) the install goes on
and the same paths run in pure Python (``_decoder_core.py``);
``sigv4kit.streaming.ACCELERATED`` says which one runs.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sigv4kit.streaming._speedups",
            ["src/sigv4kit/streaming/_speedups.c"],
            libraries=["z"],
            optional=True,
        )
    ]
)

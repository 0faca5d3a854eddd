"""Keep freed host memory in the process for the next step instead of handing it back to the kernel.

glibc's malloc serves large blocks with fresh ``mmap`` pages and trims the top of its heap back to the kernel
whenever enough of it is free (thresholds of 128 KiB at start, adapting up to 32 MiB). A CPU training step
allocates tens of megabytes of activations and gradients and frees them all at its end, so by default every
step faults the same memory in again, page by page, and the kernel zeroes each page (tests/test_host_memory.py
shows it for a step-like pattern). Raising both thresholds keeps the freed blocks in malloc's heap, where the
next step finds them; how much faster that makes a CPU training step is the c/c1 column of
benchmarks/results/speed_cpu.md. This is what Intel's PyTorch CPU tuning guide gets by preloading
jemalloc or tcmalloc; ``mallopt`` gets it with no preload and no extra dependency.

It changes where tensors live, never what is computed: tests/test_host_memory.py trains the same steps with and
without it and finds the same parameters bit for bit. The price is that a process keeps its peak heap until it
exits, which a training process does anyway.
"""
import ctypes
import ctypes.util
import functools

# mallopt parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks below this come from the heap and are reused; larger ones (a whole data set in one tensor) still get
# their own mapping. It must exceed the largest activation: WRN-14-32's widest is 268 MiB at batch 128.
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = 2**31 - 1  # the largest mallopt takes (a C int): trim only when 2 GiB at the heap's top are free


@functools.cache
def keep_freed_memory() -> bool:
    """Set malloc's thresholds for this process (once); False where the C library is not glibc."""
    path = ctypes.util.find_library('c')
    if path is None:
        return False
    libc = ctypes.CDLL(path)
    if not hasattr(libc, 'mallopt') or not hasattr(libc, 'gnu_get_libc_version'):  # musl, macOS: no glibc malloc
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))

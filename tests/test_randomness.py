"""Ids and secrets come from the kernel's CSPRNG, read in blocks; no two calls, and no parent
and forked child, hand out the same bytes."""

from __future__ import annotations

import os

from tenantgate.clock import Randomness, UrandomPool


def test_slices_of_the_pool_never_repeat() -> None:
    pool = UrandomPool(size=256)

    pieces = [pool(22) for _ in range(1000)]  # many refills of a small pool

    assert len(set(pieces)) == len(pieces)
    assert all(len(piece) == 22 for piece in pieces)


def test_a_large_request_is_read_from_the_kernel_whole() -> None:
    pool = UrandomPool(size=256)

    assert len(pool(200)) == 200


def test_a_forked_child_does_not_hand_out_its_parents_bytes() -> None:
    pool = UrandomPool(size=4096)
    pool(8)  # the parent now holds a filled buffer
    read, write = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: report what it would hand out next, then leave at once
        os.write(write, pool(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.waitpid(pid, 0)
    os.close(read)

    assert child != pool(32)


def test_urlsafe_maps_each_byte_to_one_of_64_characters() -> None:
    randomness = Randomness(token_bytes=lambda n: bytes(range(n)))

    assert randomness.urlsafe(64) == (
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    )
    assert randomness.urlsafe(66)[64:] == "ab"  # bytes 64 and 65 wrap around

"""Independent reference outputs for train/rng.ts (splitmix32-seeded xoshiro128**).

Run: /usr/bin/python3 train/testdata/gen_rng.py > train/testdata/rng_reference.json
"""
import json

M = 0xFFFFFFFF


def splitmix32(state):
    state = (state + 0x9E3779B9) & M
    t = state ^ (state >> 16)
    t = (t * 0x21F0AAAD) & M
    t ^= t >> 15
    t = (t * 0x735A2D97) & M
    t ^= t >> 15
    return state, t


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M


def xoshiro(seed, n):
    state = seed & M
    s = []
    for _ in range(4):
        state, out = splitmix32(state)
        s.append(out)
    outs = []
    for _ in range(n):
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 9) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        outs.append(result)
    return outs


def main():
    seeds = [0, 1, 42, 2**31 - 1, -7]
    print(json.dumps({str(seed): xoshiro(seed, 8) for seed in seeds}, indent=1))


main()

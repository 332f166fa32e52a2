#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a random-weight llama-architecture model as a GGUF file, for
llama-bench and llama.cpp's other programs where no model can be downloaded.

    bench/gguf_model.py SHAPE OUT.gguf      SHAPE: 7b, 1b or tiny

7b is Llama-2-7B's shape, 1b TinyLlama-1.1B's (grouped-query attention),
tiny a few-MiB model for software rasterizers. Every matrix is q4_0, the
norms f32 (1.0). The weights are noise: the speed of a forward pass does not
depend on them, and the outputs are never read. The vocabulary is a
SentencePiece-style table (llama-bench draws its prompt from it): <unk>,
<s>, </s>, the 256 byte tokens <0x00>..<0xFF> and numbered pieces.

The format (GGUF version 3, little-endian): "GGUF", version u32, tensor
count u64, key/value count u64; the key/values (string key, u32 value type,
value); the tensor infos (name, u32 dimension count, u64 dimensions from the
innermost, u32 ggml type, u64 offset into the data); padding to the
alignment (general.alignment, 32 by default); the tensor data, each tensor at
an aligned offset. A string is a u64 length and its bytes; an array is a u32
element type, a u64 count and the elements. A q4_0 block holds 32 weights in
18 bytes: an f16 scale, then 16 bytes of 4-bit values (value - 8) x scale.
Pure Python, no numpy: the data is one random megabyte of blocks repeated.
"""
import os
import random
import struct
import sys

SHAPES = {
    # n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx
    "7b": (4096, 32, 32, 32, 11008, 32000, 4096),
    "1b": (2048, 22, 32, 4, 5632, 32000, 2048),
    "tiny": (256, 4, 4, 4, 768, 1024, 512),
}

# GGUF value types
T_UINT32, T_FLOAT32, T_STRING, T_ARRAY, T_INT32 = 4, 6, 8, 9, 5
# ggml tensor types
GGML_F32, GGML_Q4_0 = 0, 2
# llama.cpp's token types
TOK_NORMAL, TOK_UNKNOWN, TOK_CONTROL, TOK_BYTE = 1, 2, 3, 6
ALIGN = 32
FILE_TYPE_MOSTLY_Q4_0 = 2


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == T_UINT32:
        return out + struct.pack("<I", value)
    if vtype == T_INT32:
        return out + struct.pack("<i", value)
    if vtype == T_FLOAT32:
        return out + struct.pack("<f", value)
    if vtype == T_STRING:
        return out + gguf_str(value)
    raise ValueError(vtype)


def kv_array(key, etype, values):
    out = gguf_str(key) + struct.pack("<IIQ", T_ARRAY, etype, len(values))
    if etype == T_STRING:
        return out + b"".join(gguf_str(v) for v in values)
    fmt = {T_FLOAT32: "f", T_INT32: "i"}[etype]
    return out + struct.pack("<%d%s" % (len(values), fmt), *values)


def vocabulary(n_vocab):
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [TOK_UNKNOWN, TOK_CONTROL, TOK_CONTROL] + [TOK_BYTE] * 256
    # Pieces that the tokenizer can tell apart; SentencePiece marks a word's
    # start with U+2581.
    i = 0
    while len(tokens) < n_vocab:
        tokens.append("\u2581t%d" % i)
        types.append(TOK_NORMAL)
        i += 1
    scores = [0.0] * 3 + [0.0] * 256 + [-float(k) for k in range(n_vocab - 259)]
    return tokens[:n_vocab], scores[:n_vocab], types[:n_vocab]


def tensors(shape):
    n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, _ = shape
    n_embd_kv = n_embd // n_head * n_head_kv
    out = [("token_embd.weight", (n_embd, n_vocab), GGML_Q4_0)]
    for i in range(n_layer):
        b = "blk.%d." % i
        out += [
            (b + "attn_norm.weight", (n_embd,), GGML_F32),
            (b + "attn_q.weight", (n_embd, n_embd), GGML_Q4_0),
            (b + "attn_k.weight", (n_embd, n_embd_kv), GGML_Q4_0),
            (b + "attn_v.weight", (n_embd, n_embd_kv), GGML_Q4_0),
            (b + "attn_output.weight", (n_embd, n_embd), GGML_Q4_0),
            (b + "ffn_norm.weight", (n_embd,), GGML_F32),
            (b + "ffn_gate.weight", (n_embd, n_ff), GGML_Q4_0),
            (b + "ffn_up.weight", (n_embd, n_ff), GGML_Q4_0),
            (b + "ffn_down.weight", (n_ff, n_embd), GGML_Q4_0),
        ]
    out += [("output_norm.weight", (n_embd,), GGML_F32), ("output.weight", (n_embd, n_vocab), GGML_Q4_0)]
    return out


def nbytes(dims, gtype):
    n = 1
    for d in dims:
        n *= d
    if gtype == GGML_F32:
        return 4 * n
    assert dims[0] % 32 == 0
    return n // 32 * 18


def align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def q4_0_pattern(rng, size):
    # A small scale (f16 0.01 is 0x211f) keeps every activation finite.
    blocks = []
    for _ in range(size // 18):
        blocks.append(struct.pack("<H", 0x211F) + rng.randbytes(16))
    return b"".join(blocks)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit("usage: %s %s OUT.gguf" % (sys.argv[0], "|".join(SHAPES)))
    name, path = sys.argv[1], sys.argv[2]
    shape = SHAPES[name]
    n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx = shape
    tokens, scores, types = vocabulary(n_vocab)
    meta = [
        kv("general.architecture", T_STRING, "llama"),
        kv("general.name", T_STRING, "venus-server random %s" % name),
        kv("general.file_type", T_UINT32, FILE_TYPE_MOSTLY_Q4_0),
        kv("llama.context_length", T_UINT32, n_ctx),
        kv("llama.embedding_length", T_UINT32, n_embd),
        kv("llama.block_count", T_UINT32, n_layer),
        kv("llama.feed_forward_length", T_UINT32, n_ff),
        kv("llama.rope.dimension_count", T_UINT32, n_embd // n_head),
        kv("llama.attention.head_count", T_UINT32, n_head),
        kv("llama.attention.head_count_kv", T_UINT32, n_head_kv),
        kv("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, 1e-5),
        kv("llama.vocab_size", T_UINT32, n_vocab),
        kv("tokenizer.ggml.model", T_STRING, "llama"),
        kv_array("tokenizer.ggml.tokens", T_STRING, tokens),
        kv_array("tokenizer.ggml.scores", T_FLOAT32, scores),
        kv_array("tokenizer.ggml.token_type", T_INT32, types),
        kv("tokenizer.ggml.unknown_token_id", T_UINT32, 0),
        kv("tokenizer.ggml.bos_token_id", T_UINT32, 1),
        kv("tokenizer.ggml.eos_token_id", T_UINT32, 2),
    ]
    infos, offset, layout = [], 0, []
    for tname, dims, gtype in tensors(shape):
        infos.append(gguf_str(tname) + struct.pack("<I", len(dims)) + struct.pack("<%dQ" % len(dims), *dims)
                     + struct.pack("<IQ", gtype, offset))
        size = nbytes(dims, gtype)
        layout.append((gtype, size))
        offset = align(offset + size)
    header = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(meta)) + b"".join(meta) + b"".join(infos)
    rng = random.Random(33)
    pattern = q4_0_pattern(rng, 18 << 16)
    ones = struct.pack("<f", 1.0) * 8192
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(header + b"\0" * (align(len(header)) - len(header)))
        for gtype, size in layout:
            src = ones if gtype == GGML_F32 else pattern
            left = size
            while left:
                n = min(left, len(src))
                f.write(src[:n])
                left -= n
            f.write(b"\0" * (align(size) - size))
    os.replace(tmp, path)
    print("%s: %s, %.1f MiB" % (path, name, os.path.getsize(path) / 2**20))


if __name__ == "__main__":
    main()

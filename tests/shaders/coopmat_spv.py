#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vk_coopmat's compute shader, written as SPIR-V words: the glslang and
SPIRV-Tools of Debian 12 know no SPV_KHR_cooperative_matrix, so the module
is assembled here, instruction by instruction, with the opcodes and
enumerants of the SPIR-V registry.

  coopmat_spv.py OUT.h    (a C array named coopmat_comp_spv, as glslang --vn)

The shader, one subgroup per workgroup (WorkgroupSize is (SG, 1, 1)):
workgroup (x, y) computes the MxN tile (y, x) of D = A * B, A being
(2M)x(2K) float16, B (2K)x(2N) float16, D (2M)x(2N) float32, all row-major
and tightly packed, as two MulAdds over the K tiles. M, N, K and SG are
specialization constants 0-3.
"""
import sys

# Opcodes.
OP = dict(Extension=10, MemoryModel=14, EntryPoint=15, ExecutionMode=16, Capability=17, TypeVoid=19,
          TypeInt=21, TypeFloat=22, TypeVector=23, TypeRuntimeArray=29, TypeStruct=30, TypePointer=32,
          TypeFunction=33, Constant=43, ConstantComposite=44, SpecConstant=50, SpecConstantComposite=51,
          Function=54, FunctionEnd=56, Variable=59, Load=61, AccessChain=65, Decorate=71, MemberDecorate=72,
          CompositeExtract=81, IAdd=128, IMul=132, Label=248, Return=253,
          TypeCooperativeMatrixKHR=4456, CooperativeMatrixLoadKHR=4457, CooperativeMatrixStoreKHR=4458,
          CooperativeMatrixMulAddKHR=4459)
# Enumerants.
CAP_SHADER, CAP_FLOAT16, CAP_STORAGE_BUFFER_16BIT, CAP_COOPMAT = 1, 9, 4433, 6022
DEC_SPEC_ID, DEC_BLOCK, DEC_ARRAY_STRIDE, DEC_BUILTIN, DEC_NON_WRITABLE = 1, 2, 6, 11, 24
DEC_BINDING, DEC_SET, DEC_OFFSET = 33, 34, 35
BUILTIN_WORKGROUP_SIZE, BUILTIN_WORKGROUP_ID = 25, 26
SC_INPUT, SC_STORAGE_BUFFER = 1, 12
GLCOMPUTE, LOCAL_SIZE = 5, 17
SCOPE_SUBGROUP = 3
LAYOUT_ROW_MAJOR = 0
USE_A, USE_B, USE_ACCUMULATOR = 0, 1, 2


def string_words(s):
    b = s.encode() + b'\0'
    b += b'\0' * (-len(b) % 4)
    return [int.from_bytes(b[i:i + 4], 'little') for i in range(0, len(b), 4)]


class Module:
    def __init__(self):
        self.words = []
        self.bound = 1

    def id(self):
        self.bound += 1
        return self.bound - 1

    def op(self, name, *operands):
        flat = []
        for o in operands:
            flat += string_words(o) if isinstance(o, str) else [o]
        self.words += [(len(flat) + 1) << 16 | OP[name]] + flat

    def res(self, name, type_id, *operands):
        """An instruction with a result type and a result id, returned."""
        r = self.id()
        self.op(name, type_id, r, *operands)
        return r

    def typ(self, name, *operands):
        """A type (result id only), returned."""
        r = self.id()
        self.op(name, r, *operands)
        return r


def build():
    m = Module()
    ids = {k: m.id() for k in ('main', 'wg_id', 'wg_size', 'buf_a', 'buf_b', 'buf_d', 'M', 'N', 'K', 'SG')}
    # Preamble: capabilities, extension, memory model, entry point, mode.
    for cap in (CAP_SHADER, CAP_FLOAT16, CAP_STORAGE_BUFFER_16BIT, CAP_COOPMAT):
        m.op('Capability', cap)
    m.op('Extension', 'SPV_KHR_cooperative_matrix')
    m.op('MemoryModel', 0, 1)  # Logical, GLSL450
    m.op('EntryPoint', GLCOMPUTE, ids['main'], 'main', ids['wg_id'])
    m.op('ExecutionMode', ids['main'], LOCAL_SIZE, 1, 1, 1)  # WorkgroupSize overrides it
    # Types whose decorations come first get their ids now.
    rt16, rt32, block16, block32 = m.id(), m.id(), m.id(), m.id()
    for i, spec in enumerate(('M', 'N', 'K', 'SG')):
        m.op('Decorate', ids[spec], DEC_SPEC_ID, i)
    m.op('Decorate', ids['wg_size'], DEC_BUILTIN, BUILTIN_WORKGROUP_SIZE)
    m.op('Decorate', ids['wg_id'], DEC_BUILTIN, BUILTIN_WORKGROUP_ID)
    m.op('Decorate', rt16, DEC_ARRAY_STRIDE, 2)
    m.op('Decorate', rt32, DEC_ARRAY_STRIDE, 4)
    for block in (block16, block32):
        m.op('Decorate', block, DEC_BLOCK)
        m.op('MemberDecorate', block, 0, DEC_OFFSET, 0)
    for binding, buf in enumerate(('buf_a', 'buf_b', 'buf_d')):
        m.op('Decorate', ids[buf], DEC_SET, 0)
        m.op('Decorate', ids[buf], DEC_BINDING, binding)
        if buf != 'buf_d':
            m.op('Decorate', ids[buf], DEC_NON_WRITABLE)
    # Types, constants, variables.
    void = m.typ('TypeVoid')
    fn = m.typ('TypeFunction', void)
    u32 = m.typ('TypeInt', 32, 0)
    f16 = m.typ('TypeFloat', 16)
    f32 = m.typ('TypeFloat', 32)
    v3u32 = m.typ('TypeVector', u32, 3)
    c = {v: m.res('Constant', u32, v) for v in (0, 1, 2, SCOPE_SUBGROUP)}
    f32_zero = m.res('Constant', f32, 0)
    for spec, default in (('M', 16), ('N', 16), ('K', 16), ('SG', 32)):
        m.op('SpecConstant', u32, ids[spec], default)
    m.op('SpecConstantComposite', v3u32, ids['wg_size'], ids['SG'], c[1], c[1])
    scope = c[SCOPE_SUBGROUP]
    mat_a = m.typ('TypeCooperativeMatrixKHR', f16, scope, ids['M'], ids['K'], c[USE_A])
    mat_b = m.typ('TypeCooperativeMatrixKHR', f16, scope, ids['K'], ids['N'], c[USE_B])
    mat_c = m.typ('TypeCooperativeMatrixKHR', f32, scope, ids['M'], ids['N'], c[USE_ACCUMULATOR])
    zero_c = m.res('ConstantComposite', mat_c, f32_zero)
    m.op('TypeRuntimeArray', rt16, f16)
    m.op('TypeRuntimeArray', rt32, f32)
    m.op('TypeStruct', block16, rt16)
    m.op('TypeStruct', block32, rt32)
    p_block16 = m.typ('TypePointer', SC_STORAGE_BUFFER, block16)
    p_block32 = m.typ('TypePointer', SC_STORAGE_BUFFER, block32)
    p_f16 = m.typ('TypePointer', SC_STORAGE_BUFFER, f16)
    p_f32 = m.typ('TypePointer', SC_STORAGE_BUFFER, f32)
    p_in_v3 = m.typ('TypePointer', SC_INPUT, v3u32)
    m.op('Variable', p_block16, ids['buf_a'], SC_STORAGE_BUFFER)
    m.op('Variable', p_block16, ids['buf_b'], SC_STORAGE_BUFFER)
    m.op('Variable', p_block32, ids['buf_d'], SC_STORAGE_BUFFER)
    m.op('Variable', p_in_v3, ids['wg_id'], SC_INPUT)
    # main.
    m.op('Function', void, ids['main'], 0, fn)
    m.op('Label', m.id())
    wg = m.res('Load', v3u32, ids['wg_id'])
    tile_col = m.res('CompositeExtract', u32, wg, 0)
    tile_row = m.res('CompositeExtract', u32, wg, 1)
    stride_a = m.res('IMul', u32, ids['K'], c[2])
    stride_bd = m.res('IMul', u32, ids['N'], c[2])
    row0 = m.res('IMul', u32, tile_row, ids['M'])
    col0 = m.res('IMul', u32, tile_col, ids['N'])
    row0_a = m.res('IMul', u32, row0, stride_a)
    acc = zero_c
    for kt in (0, 1):
        k0 = m.res('IMul', u32, ids['K'], c[kt])
        at_a = m.res('IAdd', u32, row0_a, k0)
        at_b = m.res('IAdd', u32, m.res('IMul', u32, k0, stride_bd), col0)
        ptr_a = m.res('AccessChain', p_f16, ids['buf_a'], c[0], at_a)
        ptr_b = m.res('AccessChain', p_f16, ids['buf_b'], c[0], at_b)
        a = m.res('CooperativeMatrixLoadKHR', mat_a, ptr_a, c[LAYOUT_ROW_MAJOR], stride_a)
        b = m.res('CooperativeMatrixLoadKHR', mat_b, ptr_b, c[LAYOUT_ROW_MAJOR], stride_bd)
        acc = m.res('CooperativeMatrixMulAddKHR', mat_c, a, b, acc)
    at_d = m.res('IAdd', u32, m.res('IMul', u32, row0, stride_bd), col0)
    ptr_d = m.res('AccessChain', p_f32, ids['buf_d'], c[0], at_d)
    m.op('CooperativeMatrixStoreKHR', ptr_d, acc, c[LAYOUT_ROW_MAJOR], stride_bd)
    m.op('Return')
    m.op('FunctionEnd')
    # Header: magic, SPIR-V 1.3 (StorageBuffer and 16-bit storage are
    # core), generator 0, bound, schema.
    return [0x07230203, 0x00010300, 0, m.bound, 0] + m.words


def main():
    words = build()
    lines = ['// Generated by tests/shaders/coopmat_spv.py: vk_coopmat\'s cooperative-matrix compute shader.',
             'const uint32_t coopmat_comp_spv[] = {']
    for i in range(0, len(words), 6):
        lines.append('\t' + ', '.join('0x%08x' % w for w in words[i:i + 6]) + ',')
    lines.append('};')
    with open(sys.argv[1], 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()

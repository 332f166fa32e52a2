#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates venus-server's wire codec from the Vulkan registry.

Inputs: vk.xml, protocol/venus.xml (the Venus additions in vk.xml's schema
plus the VkCommandTypeEXT numbering and the journal classes its names do
not give), protocol/semantics.txt (which
commands have hand-written execution in src/renderer/) and, with
--checks, protocol/checks.txt (the checks run before each handler).

Outputs, into --out-dir (the build tree; never committed):
  * vn_vk.h, vn_vk.c: the host side of the API: Venus types, host
    entry-point tables and their loaders, result names, destroy-by-type,
    format block sizes;
  * vn_wire.h: what the hand-written runner and handlers see: command
    numbers, the decoded argument structs, struct vn_exec_table (one
    handler slot per command) and the command descriptions;
  * vn_wire_codec.h and vn_wire_0.c .. vn_wire_<units-1>.c: a decoder for
    every command with a Venus number and for every struct those commands
    can carry (every struct that may appear in a pNext chain included), in
    input form, output-skeleton form (what the guest sends for structs the
    server fills in) and reply encoder; and a default execution for every
    command not listed in semantics.txt: translate ids, call the host, bind
    or unbind created/destroyed ids (a "wraps-default" command keeps it as
    vn_default_<name> for its handler to call). Split so the units compile
    in parallel;
  * vn_wire_table.c: vn_commands[], the data the one hand-written runner
    (src/wire/runner.c) walks per command (argument size, decoder,
    checks, handler slot, reply encoder, the class a snapshot's journal
    gives it: journal_class()), vn_exec_table_init() with the
    defaults, and the capset's extension mask (extensions whose structs all
    decode and whose commands all have a Venus number);
  * vn_checks.c (with --checks): the check functions of checks.txt.
--report lists the commands with a Venus number that cannot be carried;
--index-report lists every index-shaped parameter, checked or not.
docs/adding-a-command.md is the recipe that uses all this.

Standard library only.
"""

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

SCALARS = {
    # C type: (decode primitive suffix, wire size)
    'uint32_t': ('u32', 4), 'int32_t': ('i32', 4), 'uint64_t': ('u64', 8), 'int64_t': ('i64', 8),
    'float': ('f32', 4), 'double': ('f64', 8), 'size_t': ('size', 8),
    'uint8_t': ('u8', 4), 'int8_t': ('i8', 4), 'uint16_t': ('u16', 4), 'int16_t': ('i16', 4),
    'VkBool32': ('u32', 4), 'VkSampleMask': ('u32', 4), 'VkFlags': ('u32', 4),
    'int': ('i32', 4),
    'VkDeviceSize': ('u64', 8), 'VkDeviceAddress': ('u64', 8), 'VkFlags64': ('u64', 8),
}
PACKED_BYTES = {'uint8_t', 'int8_t', 'char'}
# Unions with a hand-written codec (wire/cs.c): the clear values, and the
# device-or-host addresses, of which only the device address crosses.
UNIONS = {'VkClearValue', 'VkClearColorValue', 'VkDeviceOrHostAddressKHR', 'VkDeviceOrHostAddressConstKHR'}
# Arrays of arrays whose inner length vk.xml gives only in prose: the
# expression (over the command's parameters, i_ the outer index) Venus
# encodes each inner array's size with.
INNER_LEN = {
    ('vkCmdBuildAccelerationStructuresKHR', 'ppBuildRangeInfos'): 'pInfos[i_].geometryCount',
    ('vkBuildAccelerationStructuresKHR', 'ppBuildRangeInfos'): 'pInfos[i_].geometryCount',
    ('vkCmdBuildAccelerationStructuresIndirectKHR', 'ppMaxPrimitiveCounts'): 'pInfos[i_].geometryCount',
}
INSTANCE_HANDLES = {'VkInstance', 'VkPhysicalDevice'}
DEVICE_HANDLES = {'VkDevice', 'VkQueue', 'VkCommandBuffer'}


# The decoder parameter of every generated decoder: nothing else reaches
# the decoder while one runs, so the compiler keeps its cursor in a
# register across the stores into the decoded structs.
DEC_D = 'struct vn_decoder *restrict d'

WSI_COMMAND = re.compile(r'Surface|Swapchain|Display|Present|AcquireNextImage')


class Unsupported(Exception):
    pass


def member_text(elem):
    """The declaration text of a member/param, without <comment>s."""
    parts = [elem.text or '']
    for child in elem:
        if child.tag != 'comment':
            parts.append(''.join(child.itertext()))
        parts.append(child.tail or '')
    return ''.join(parts)


class Member:
    def __init__(self, elem):
        self.name = elem.find('name').text
        self.type = elem.find('type').text
        text = member_text(elem)
        before = (elem.text or '')
        self.const = 'const' in before
        tail = text.split(self.name, 1)[1] if self.name in text else ''
        decl = text.split(self.name, 1)[0]
        self.ptr = decl.count('*')
        self.const2 = decl.count('const') > 1
        dims = re.findall(r'\[([^\]]+)\]', tail)
        enum_dims = [e.text for e in elem.findall('enum')]
        self.dims = enum_dims if enum_dims else dims
        self.bitfield = ':' in tail
        self.len = elem.get('altlen') or elem.get('len')
        self.optional = (elem.get('optional') or '').startswith('true')
        self.noauto = elem.get('noautovalidity') == 'true'
        self.values = elem.get('values')
        self.selector = elem.get('selector')
        self.selection = elem.get('selection')
        self.decl = ' '.join(text.split())

    @property
    def len_parts(self):
        if not self.len:
            return []
        return [p for p in self.len.split(',')]


class Registry:
    def __init__(self, vk_xml, venus_xml):
        self.structs = {}        # name -> dict(members, extends, stype, returnedonly)
        self.aliases = {}        # type alias -> canonical
        self.handles = {}        # name -> objtypeenum
        self.enums = set()
        self.enum_values = set()     # enumerant names the headers define
        self.bitmask_width = {}  # bitmask name -> 4/8
        self.basetypes = {}
        self.commands = {}       # name -> dict(ret, params)
        self.cmd_aliases = {}
        self.available_types = set()
        self.available_cmds = set()
        self.ext_types = {}      # extension name -> (number, [type names])
        self.ext_cmds = {}       # extension name -> [command names]
        self.type_ext = {}
        root = ET.parse(vk_xml).getroot()
        self.header_version = self._header_version(root)
        self.formats = self._parse_formats(root)
        self._parse_types(root)
        self._parse_commands(root)
        for en in root.findall('enums'):
            if en.get('type') == 'enum':
                self.enum_values.update(e.get('name') for e in en.findall('enum') if e.get('value'))
        self.result_values = self._parse_results(root)
        self._parse_requires(root)
        vroot = ET.parse(venus_xml).getroot()
        self.venus = vroot
        self._parse_types(vroot, venus=True)
        self._parse_commands(vroot, venus=True)
        self.command_types = [(int(t.get('value')), t.get('command'))
                              for t in vroot.find('commandtypes')]

    @staticmethod
    def _api_ok(elem):
        api = elem.get('api')
        return api is None or 'vulkan' in api.split(',')

    def _parse_results(self, root):
        """(name, value) of every VkResult: the enum's own, then those the
        features (promoted from extensions) and extensions add, each value
        once (aliases name a value already listed)."""
        out, seen = [], set()

        def add(name, value):
            if value not in seen:
                seen.add(value)
                out.append((name, value))
        for en in root.findall('enums'):
            if en.get('name') == 'VkResult':
                for e in en.findall('enum'):
                    if e.get('value'):
                        add(e.get('name'), e.get('value'))
        adders = [(f, None) for f in root.findall('feature') if self._api_ok(f)]
        adders += [(x, x.get('number')) for x in root.find('extensions')
                   if 'vulkan' in x.get('supported', '').split(',')]
        for parent, number in adders:
            for req in parent.findall('require'):
                if not self._api_ok(req):
                    continue
                for e in req.findall('enum'):
                    if e.get('extends') != 'VkResult' or e.get('alias'):
                        continue
                    if e.get('value') is not None:
                        add(e.get('name'), e.get('value'))
                    elif e.get('offset') is not None:
                        num = int(e.get('extnumber') or number)
                        v = 1000000000 + (num - 1) * 1000 + int(e.get('offset'))
                        add(e.get('name'), str(-v if e.get('dir') == '-' else v))
        return out

    def _header_version(self, root):
        major_minor = None
        patch = None
        for t in root.find('types'):
            if not self._api_ok(t):
                continue
            name = t.findtext('name')
            if name == 'VK_HEADER_VERSION':
                patch = int(''.join(t.itertext()).split()[-1])
            if name == 'VK_HEADER_VERSION_COMPLETE':
                m = re.search(r'VK_MAKE_API_VERSION\(\s*0\s*,\s*(\d+)\s*,\s*(\d+)', ''.join(t.itertext()))
                major_minor = (int(m.group(1)), int(m.group(2)))
        return (major_minor[0] << 22) | (major_minor[1] << 12) | patch

    def _parse_types(self, root, venus=False):
        for t in root.find('types'):
            if t.tag != 'type' or not self._api_ok(t):
                continue
            cat = t.get('category')
            name = t.get('name') or t.findtext('name')
            if t.get('alias'):
                self.aliases[name] = t.get('alias')
                continue
            if cat in ('struct', 'union'):
                members = [Member(m) for m in t.findall('member') if self._api_ok(m)]
                stype = None
                for m in members:
                    if m.name == 'sType' and m.values:
                        stype = m.values
                self.structs[name] = {
                    'name': name, 'union': cat == 'union', 'members': members,
                    'extends': (t.get('structextends') or '').split(',') if t.get('structextends') else [],
                    'stype': stype, 'returnedonly': t.get('returnedonly') == 'true', 'venus': venus,
                }
            elif cat == 'handle':
                self.handles[name] = t.get('objtypeenum')
            elif cat == 'enum':
                self.enums.add(name)
            elif cat == 'bitmask':
                base = t.findtext('type')
                self.bitmask_width[name] = 8 if base == 'VkFlags64' else 4
            elif cat == 'basetype':
                self.basetypes[name] = t.findtext('type')
            if venus:
                self.available_types.add(name)

    def _parse_commands(self, root, venus=False):
        for c in root.find('commands'):
            if not self._api_ok(c):
                continue
            if c.get('alias'):
                self.cmd_aliases[c.get('name')] = c.get('alias')
                continue
            proto = c.find('proto')
            name = proto.findtext('name')
            params = [Member(p) for p in c.findall('param') if self._api_ok(p)]
            self.commands[name] = {'name': name, 'ret': proto.findtext('type'), 'params': params,
                                   'errors': set(filter(None, (c.get('errorcodes') or '').split(',')))}
            if venus:
                self.available_cmds.add(name)

    def _parse_requires(self, root):
        def take(req_parent, ext=None):
            for req in req_parent.findall('require'):
                if not self._api_ok(req):
                    continue
                for t in req.findall('type'):
                    self.available_types.add(t.get('name'))
                    if ext:
                        self.ext_types.setdefault(ext, [])[1].append(t.get('name'))
                        self.type_ext.setdefault(t.get('name'), ext)
                for c in req.findall('command'):
                    self.available_cmds.add(c.get('name'))
                    # The extension's own commands; those of interactions
                    # (depends=) and window-system commands, which a Venus
                    # guest implements itself, do not count.
                    if ext and not req.get('depends') and not WSI_COMMAND.search(c.get('name')):
                        self.ext_cmds.setdefault(ext, []).append(c.get('name'))
                for e in req.findall('enum'):
                    if e.get('extends'):
                        self.enum_values.add(e.get('name'))
        for f in root.findall('feature'):
            if 'vulkan' in f.get('api', 'vulkan').split(','):
                take(f)
        for e in root.find('extensions'):
            sup = e.get('supported', '').split(',')
            if 'vulkan' not in sup or e.get('platform') or e.get('provisional') == 'true':
                continue
            self.ext_types[e.get('name')] = (int(e.get('number')), [])
            take(e, e.get('name'))

    def _parse_formats(self, root):
        """VkFormat -> (block bytes, block extent, depth bits, stencil bits,
        [plane compatible formats]) from <formats>."""
        out = {}
        formats = root.find('formats')
        for f in (formats if formats is not None else []):
            ext = [int(x) for x in (f.get('blockExtent') or '1,1,1').split(',')]
            bits = {c.get('name'): c.get('bits') for c in f.findall('component')}
            planes = [p.get('compatible') for p in sorted(f.findall('plane'), key=lambda p: int(p.get('index')))]
            out[f.get('name')] = (int(f.get('blockSize')), ext, bits.get('D'), bits.get('S'), planes)
        return out

    def canon(self, name):
        while name in self.aliases:
            name = self.aliases[name]
        return name

    def canon_cmd(self, name):
        while name in self.cmd_aliases:
            name = self.cmd_aliases[name]
        return name

    def cmd_names(self, canonical):
        names = [canonical]
        names += sorted(a for a, c in self.cmd_aliases.items() if self.canon_cmd(a) == canonical)
        return names

    def scalar(self, t):
        t = self.canon(t)
        if t in SCALARS:
            return SCALARS[t]
        if t in self.enums:
            return ('enum', 4)
        if t in self.bitmask_width:
            return ('u64', 8) if self.bitmask_width[t] == 8 else ('u32', 4)
        if t in self.basetypes and self.basetypes[t] in SCALARS:
            return SCALARS[self.basetypes[t]]
        return None


class Gen:
    """Emits C. Each struct gets up to three generated forms, created on
    demand: 'dec' (input), 'part' (output skeleton) and 'enc' (reply)."""

    def __init__(self, reg, semantics):
        self.reg = reg
        self.semantics = semantics
        self.support_cache = {}
        self.needed = set()          # (mode, struct)
        self.pnext_needed = set()    # (mode, root struct)
        self.out = []
        self.protos = []

    # ---- support analysis -------------------------------------------------
    def struct_ok(self, name, stack=()):
        name = self.reg.canon(name)
        if name in self.support_cache:
            return self.support_cache[name]
        if name in stack:
            return True
        s = self.reg.structs.get(name)
        ok = s is not None and name in self.reg.available_types
        if ok and s['union']:
            ok = name in UNIONS or self.selected_union_ok(name, stack)
        if ok and not s['union']:
            try:
                for m in s['members']:
                    self.member_kind(m, stack + (name,), s)
            except Unsupported:
                ok = False
        self.support_cache[name] = ok
        return ok

    def selected_union_ok(self, name, stack=()):
        """A union whose members vk.xml names by a selector value (the
        member of its parent that says which one is there): Venus writes
        the selector value, then that member."""
        s = self.reg.structs[name]
        return all(m.selection and m.ptr == 0 and not m.dims and self.reg.canon(m.type) in self.reg.structs
                   and not self.reg.structs[self.reg.canon(m.type)]['union']
                   and self.struct_ok(m.type, stack + (name,)) for m in s['members'])

    def chain_members(self, root):
        root = self.reg.canon(root)
        out = []
        for name, s in self.reg.structs.items():
            if s['stype'] and root in [self.reg.canon(x) for x in s['extends']]:
                if name in self.reg.available_types and self.struct_ok(name):
                    out.append(name)
        return sorted(out)

    def member_kind(self, m, stack=(), parent=None):
        """Classifies a member or parameter; raises Unsupported."""
        t = self.reg.canon(m.type)
        if m.bitfield:
            raise Unsupported('bitfield')
        if m.name == 'pNext':
            return 'pnext'
        if m.name == 'sType':
            return 'stype'
        if len(m.dims) > 1:
            raise Unsupported('multi-dimensional array')
        if m.ptr == 0:
            if m.dims:
                if t in PACKED_BYTES:
                    return 'bytes_fixed'
                if self.reg.scalar(t) or t in self.reg.handles:
                    return 'array_fixed'
                if t in self.reg.structs and self.struct_ok(t, stack):
                    return 'array_fixed'
                raise Unsupported('fixed array of ' + t)
            if self.reg.scalar(t):
                return 'scalar'
            if t in self.reg.handles:
                return 'handle'
            if t in UNIONS:
                return 'union'
            if m.selector and t in self.reg.structs and self.reg.structs[t]['union'] \
                    and self.selected_union_ok(t, stack):
                return 'selected_union'
            if t in self.reg.structs and self.struct_ok(t, stack):
                return 'struct'
            raise Unsupported('type ' + t)
        if m.ptr == 1:
            if t == 'char':
                if m.len and 'null-terminated' in m.len:
                    return 'string'
                raise Unsupported('char pointer')
            if t == 'void':
                if m.len:
                    return 'blob'
                if parent is not None and m.optional and m.const:
                    # An optional opaque host pointer (a capture/replay
                    # handle): Venus carries only its absence.
                    return 'null_pointer'
                raise Unsupported('void pointer')
            if t == 'VkAllocationCallbacks':
                return 'allocator'
            if not (self.reg.scalar(t) or t in self.reg.handles or t in UNIONS or
                    (t in self.reg.structs and self.struct_ok(t, stack))):
                raise Unsupported('pointer to ' + t)
            return 'array' if m.len else 'pointer'
        if m.ptr == 2 and t == 'char' and m.len and 'null-terminated' in m.len:
            return 'string_array'
        if m.ptr == 2 and m.const2 and m.len and (self.reg.scalar(t) or
                                                  (t in self.reg.structs and self.struct_ok(t, stack))):
            # An array of arrays: each inner one is 1 long (vk.xml says so)
            # or as long as INNER_LEN says.
            return 'array_of_arrays'
        raise Unsupported('pointer depth')

    # ---- expressions ------------------------------------------------------
    def len_expr(self, m, scope, params=None):
        """C expression for the element count of member/param m."""
        expr = m.len.split(',')[0]
        if expr in ('null-terminated',):
            raise Unsupported('len')
        if expr.startswith('latexmath'):
            raise Unsupported('latexmath len')

        def repl(mo):
            ident = mo.group(0)
            if ident.isdigit() or ident.startswith('VK_'):
                return ident
            if params is not None:
                p = params.get(ident)
                if p is None:
                    return ident
                if p.ptr:
                    if mo.end() < len(expr) and expr[mo.end():mo.end() + 2] == '->':
                        return '%s%s' % (scope, ident)
                    return '(%s%s ? *%s%s : 0)' % (scope, ident, scope, ident)
                return scope + ident
            return scope + ident
        out = re.sub(r'(?<![>\w])[A-Za-z_]\w*', repl, expr)
        # Guard "p->member" against a NULL p.
        mo = re.fullmatch(r'(\w+)->(\w+)->(\w+)', out)
        if mo:
            out = '(%s->%s ? %s : 0)' % (mo.group(1), mo.group(2), out)
        return out

    def elem_ctype(self, m):
        return self.reg.canon(m.type) if self.reg.canon(m.type) in self.reg.structs else m.type

    def min_wire(self, t):
        t = self.reg.canon(t)
        return 1 if t in PACKED_BYTES else 4

    # ---- element codecs ---------------------------------------------------
    def dec_value(self, t, dst, optional, mode):
        """Statements decoding one value of type t into lvalue dst."""
        t = self.reg.canon(t)
        sc = self.reg.scalar(t)
        if sc:
            if mode == 'part':
                return []
            if sc[0] == 'enum':
                return ['if (!vn_dec_enum(d, &%s)) return false;' % dst]
            return ['if (!vn_dec_%s(d, &%s)) return false;' % (sc[0], dst)]
        if t in self.reg.handles:
            if mode == 'part':
                return ['{ uint64_t id_; if (!vn_dec_handle_id(d, &id_)) return false; }']
            return ['{ uint64_t h_; if (!vn_dec_nested_handle(d, %s, %s, &h_, &%s)) return false; %s = (%s)(uintptr_t)h_; }'
                    % (self.reg.handles[t], 'true' if optional else 'false', dst, dst, t)]
        if t in UNIONS:
            if mode == 'part':
                return []
            return ['if (!vn_dec_%s(d, &%s)) return false;' % (t, dst)]
        self.need(mode, t)
        return ['if (!vn_%s_%s(d, &%s)) return false;' % (mode, t, dst)]

    def enc_value(self, t, src):
        t = self.reg.canon(t)
        sc = self.reg.scalar(t)
        if sc:
            if sc[0] == 'enum':
                return ['vn_enc_enum(e, &%s);' % src]
            if sc[0] in ('u32', 'u64'):
                return ['vn_enc_%s(e, (%s)%s);' % (sc[0], 'uint32_t' if sc[0] == 'u32' else 'uint64_t', src)]
            return ['vn_enc_%s(e, %s);' % (sc[0], src)]
        if t in self.reg.handles:
            return ['vn_enc_handle(e, %s, (uint64_t)(uintptr_t)%s);' % (self.reg.handles[t], src)]
        if t in UNIONS:
            return ['vn_enc_%s(e, &%s);' % (t, src)]
        self.need('enc', t)
        return ['vn_enc_%s(e, &%s);' % (t, src)]

    def need(self, mode, t):
        t = self.reg.canon(t)
        if (mode, t) not in self.needed:
            self.needed.add((mode, t))
            self.pending.append((mode, t))

    def is_len_target(self, m, members):
        for o in members:
            if o is not m and o.ptr and o.len and o.len.split(',')[0] == m.name:
                return True
        return False

    # ---- struct members ---------------------------------------------------
    def member_code(self, m, members, mode, v='v->'):
        kind = self.member_kind(m, parent=members)
        t = self.reg.canon(m.type)
        f = v + m.name
        opt = m.optional or m.noauto
        L = []
        if kind in ('stype', 'pnext'):
            return L
        if kind == 'scalar':
            if mode == 'enc':
                return self.enc_value(t, f)
            if mode == 'part' and not self.is_len_target(m, members):
                return L
            return self.dec_value(t, f, opt, 'dec')
        if kind in ('handle', 'struct', 'union'):
            return self.enc_value(t, f) if mode == 'enc' else self.dec_value(t, f, opt, mode)
        if kind == 'bytes_fixed':
            n = m.dims[0]
            if mode == 'enc':
                return ['vn_enc_array_size(e, %s);' % n, 'vn_enc_bytes(e, %s, %s);' % (f, n)]
            if mode == 'part':
                return L
            dec = 'vn_dec_char_array' if t == 'char' else 'vn_dec_bytes'
            return ['{ uint64_t n_; if (!vn_dec_array_size(d, &n_)) return false;',
                    '  if (n_ != %s) return vn_dec_fail(d, "%s: array size %%llu != %%u", (unsigned long long)n_, (unsigned)(%s));' % (n, m.name, n),
                    '  if (!%s(d, %s, %s)) return false; }' % (dec, f, n)]
        if kind == 'array_fixed':
            n = m.dims[0]
            scalar = self.reg.scalar(t)
            if mode == 'enc':
                return ['vn_enc_array_size(e, %s);' % n,
                        'for (uint32_t i_ = 0; i_ < %s; i_++) {' % n] + \
                    ['   ' + s for s in self.enc_value(t, '%s[i_]' % f)] + ['}']
            if mode == 'part' and scalar:
                return L
            body = self.dec_value(t, '%s[i_]' % f, opt, mode)
            return ['{ uint64_t n_; if (!vn_dec_array_size(d, &n_)) return false;',
                    '  if (n_ != %s) return vn_dec_fail(d, "%s: array size %%llu != %%u", (unsigned long long)n_, (unsigned)(%s));' % (n, m.name, n),
                    '  for (uint32_t i_ = 0; i_ < %s; i_++) {' % n] + \
                ['      ' + s for s in body] + ['  } }']
        if kind == 'string':
            if mode != 'dec':
                raise Unsupported('output string')
            return ['if (!vn_dec_string(d, &%s)) return false;' % f]
        if kind == 'string_array':
            if mode != 'dec':
                raise Unsupported('output string array')
            cnt = self.len_expr(m, v)
            return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                    '  if (p_) { const char **s_ = vn_dec_alloc_array(d, %s, sizeof(*s_), 8); if (!s_) return false;' % cnt,
                    '    for (uint32_t i_ = 0; i_ < %s; i_++) if (!vn_dec_string(d, &s_[i_])) return false;' % cnt,
                    '    %s = s_; } else { %s = NULL; } }' % (f, f)]
        if kind == 'blob':
            cnt = self.len_expr(m, v)
            if mode == 'enc':
                return ['if (%s) { vn_enc_array_size(e, %s); vn_enc_bytes(e, %s, %s); } else { vn_enc_array_size(e, 0); }' % (f, cnt, f, cnt)]
            if mode == 'part':
                return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                        '  %s = p_ ? vn_dec_alloc_array(d, %s, 1, 0) : NULL; if (p_ && !%s) return false; }' % (f, cnt, f)]
            return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                    '  if (p_) { void *b_ = vn_dec_alloc_array(d, %s, 1, 1); if (!b_ || !vn_dec_bytes(d, b_, %s)) return false; %s = b_; } else { %s = NULL; } }' % (cnt, cnt, f, f)]
        if kind == 'allocator':
            raise Unsupported('allocator member')
        if kind == 'null_pointer':
            if mode == 'enc':
                raise Unsupported('output host pointer')
            return ['{ bool m_; if (!vn_dec_marker(d, &m_)) return false;',
                    '  if (m_) return vn_dec_fail(d, "%s: a host pointer cannot cross the wire");' % m.name,
                    '  %s = NULL; }' % f]
        if kind == 'selected_union':
            if mode == 'enc':
                raise Unsupported('output selected union')
            if mode == 'part':
                return L
            sel = v + m.selector
            L = ['{ int32_t tag_; if (!vn_dec_enum(d, &tag_)) return false;',
                 '  if (tag_ != (int32_t)%s) return vn_dec_fail(d, "%s: union tag %%d is not %s %%d", (int)tag_, (int)%s);'
                 % (sel, m.name, m.selector, sel),
                 '  switch (tag_) {']
            for um in self.reg.structs[t]['members']:
                for value in um.selection.split(','):
                    L.append('  case %s:' % value)
                L += ['   ' + x for x in self.dec_value(um.type, '%s.%s' % (f, um.name), False, 'dec')]
                L.append('     break;')
            L += ['  default: return vn_dec_fail(d, "%s: unknown union tag %%d", (int)tag_);' % m.name, '  } }']
            return L
        if kind == 'array_of_arrays':
            if m.len_parts[1:] != ['1']:
                raise Unsupported('array of arrays of unknown length')
            return self.array_of_arrays_code(m, self.len_expr(m, v), '1', f, mode)
        et = self.elem_ctype(m)
        if kind == 'array' and t in PACKED_BYTES and mode == 'dec':
            # Venus packs byte arrays (padded to 4), as it does fixed ones.
            cnt = self.len_expr(m, v)
            return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                    '  if (p_) { %s *b_ = vn_dec_alloc_array(d, %s, 1, 1); if (!b_ || !vn_dec_bytes(d, b_, %s)) return false; %s = b_; } else { %s = NULL; } }'
                    % (et, cnt, cnt, f, f)]
        if kind == 'array':
            cnt = self.len_expr(m, v)
            if mode == 'enc':
                return ['if (%s) {' % f, '   vn_enc_array_size(e, %s);' % cnt,
                        '   for (uint32_t i_ = 0; i_ < %s; i_++) {' % cnt] + \
                    ['      ' + s for s in self.enc_value(t, '%s[i_]' % f)] + \
                    ['   }', '} else {', '   vn_enc_array_size(e, 0);', '}']
            minw = 0 if mode == 'part' else self.min_wire(t)
            body = self.dec_value(t, 'a_[i_]', opt, mode)
            return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                    '  if (p_) { %s *a_ = vn_dec_alloc_array(d, %s, sizeof(*a_), %d); if (!a_) return false;' % (et, cnt, minw),
                    '    for (uint32_t i_ = 0; i_ < %s; i_++) {' % cnt] + \
                ['      ' + s for s in body] + \
                ['    }', '    %s = a_; } else { %s = NULL; } }' % (f, f)]
        if kind == 'pointer':
            if mode == 'enc':
                return ['vn_enc_marker(e, %s != NULL);' % f, 'if (%s) {' % f] + \
                    ['   ' + s for s in self.enc_value(t, '(*%s)' % f)] + ['}']
            body = self.dec_value(t, '*p_', opt, mode)
            return ['{ bool m_; if (!vn_dec_marker(d, &m_)) return false;',
                    '  if (m_) { %s *p_ = vn_dec_alloc(d, sizeof(*p_)); if (!p_) return false;' % et] + \
                ['    ' + s for s in body] + \
                ['    %s = p_; } else { %s = NULL; } }' % (f, f)]
        raise Unsupported(kind)

    def array_of_arrays_code(self, m, outer, inner, f, mode):
        """Decodes `const T *const *f`: an array of `outer` pointers, each
        to an array of `inner` elements (inner may use i_, the outer
        index)."""
        if mode != 'dec':
            raise Unsupported('output array of arrays')
        t = self.reg.canon(m.type)
        et = self.elem_ctype(m)
        body = self.dec_value(t, 'e_[j_]', False, 'dec')
        return ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % outer,
                '  if (p_) { const %s **a_ = vn_dec_alloc_array(d, %s, sizeof(*a_), 8); if (!a_) return false;' % (et, outer),
                '    for (uint32_t i_ = 0; i_ < %s; i_++) {' % outer,
                '      uint64_t n_; if (!vn_dec_array_size(d, &n_)) return false;',
                '      if (n_ != (uint64_t)(%s)) return vn_dec_fail(d, "%s[%%u]: array size %%llu != %%llu", i_, (unsigned long long)n_, (unsigned long long)(%s));'
                % (inner, m.name, inner),
                '      %s *e_ = vn_dec_alloc_array(d, n_, sizeof(*e_), %d); if (n_ && !e_) return false;' % (et, self.min_wire(t)),
                '      for (uint32_t j_ = 0; j_ < n_; j_++) {'] + \
            ['        ' + x for x in body] + \
            ['      }', '      a_[i_] = e_;', '    }', '    %s = a_; } else { %s = NULL; } }' % (f, f)]

    # ---- struct functions -------------------------------------------------
    def emit_struct(self, mode, name):
        s = self.reg.structs[name]
        members = s['members']
        body = []
        for m in members:
            body += self.member_code(m, members, mode)
        self_fn = 'vn_%s_%s_self' % (mode, name)
        fn = 'vn_%s_%s' % (mode, name)
        if mode == 'enc':
            sig = 'void %s(struct vn_encoder *e, const %s *v)' % (self_fn, name)
            self.protos.append(sig + ';')
            self.out.append(sig + '\n{\n' + ''.join('   %s\n' % l for l in body) +
                            ('   (void)e;\n   (void)v;\n' if not body else '') + '}\n')
            sig = 'void %s(struct vn_encoder *e, const %s *v)' % (fn, name)
            if s['stype']:
                self.pnext_needed_add(mode, name)
                self.out.append(sig + '\n{\n   vn_enc_enum(e, &v->sType);\n   vn_enc_pnext_%s(e, v->pNext);\n   %s(e, v);\n}\n'
                                % (name, self_fn))
            else:
                self.out.append(sig + '\n{\n   %s(e, v);\n}\n' % self_fn)
            self.protos.append(sig + ';')
            return
        sig = 'bool %s(%s, %s *v)' % (self_fn, DEC_D, name)
        self.protos.append(sig + ';')
        self.out.append(decoder_function(sig, body, 'v'))
        # The whole struct decodes without a call to its _self form (which
        # the pNext chains of other structs use).
        head = []
        if s['stype']:
            head = ['VkStructureType st_;', 'if (!vn_dec_enum(d, &st_)) return false;']
            if mode == 'dec' and not self.chain_members(name):
                head.append('{ bool m_; if (!vn_dec_marker(d, &m_)) return false; '
                            'if (m_) return vn_dec_fail(d, "%s takes no pNext chain"); }' % name)
                pnext = ['v->pNext = NULL;']
            else:
                self.pnext_needed_add(mode, name)
                pnext = ['if (!vn_%s_pnext_%s(d, (const void **)&v->pNext)) return false;' % (mode, name)]
                if mode == 'dec':
                    pnext.append('if (v->pNext && !vn_dec_chain_unique(d, v)) return false;')
            head += ['if (st_ != %s) return vn_dec_fail(d, "%s: bad sType %%d", (int)st_);' % (s['stype'], name),
                     'v->sType = st_;'] + pnext
        sig = 'bool %s(%s, %s *v)' % (fn, DEC_D, name)
        self.protos.append(sig + ';')
        self.out.append(decoder_function(sig, head + body, 'v'))

    def pnext_needed_add(self, mode, name):
        if (mode, name) not in self.pnext_needed:
            self.pnext_needed.add((mode, name))
            self.pending.append(('pnext-' + mode, name))
            # A chained struct needs its _self form, which emit_struct provides.
            for c in self.chain_members(name):
                self.need(mode, c)

    def emit_pnext(self, mode, root):
        chain = self.chain_members(root)
        fn = 'vn_%s_pnext_%s' % (mode, root)
        if mode == 'enc':
            sig = 'void %s(struct vn_encoder *e, const void *pnext)' % fn
            L = ['   const VkBaseInStructure *s_ = pnext;',
                 '   for (; s_; s_ = s_->pNext) {',
                 '      switch ((int)s_->sType) {']
            for c in chain:
                L += ['      case %s:' % self.reg.structs[c]['stype'],
                      '         vn_enc_marker(e, true);',
                      '         vn_enc_enum(e, &s_->sType);',
                      '         vn_enc_pnext_%s(e, s_->pNext);' % root,
                      '         vn_enc_%s_self(e, (const %s *)s_);' % (c, c),
                      '         return;']
            L += ['      default:', '         break;', '      }', '   }', '   vn_enc_marker(e, false);']
            if not chain:
                L = ['   (void)pnext;', '   vn_enc_marker(e, false);']
        else:
            sig = 'bool %s(%s, const void **pnext)' % (fn, DEC_D)
            L = ['   bool m_;', '   if (!vn_dec_marker(d, &m_)) return false;',
                 '   if (!m_) { *pnext = NULL; return true; }']
            if chain:
                L += ['   if (++d->depth > VN_MAX_CHAIN_DEPTH) return vn_dec_fail(d, "pNext chain too deep");',
                      '   VkStructureType st_;', '   if (!vn_dec_enum(d, &st_)) return false;',
                      '   switch ((int)st_) {']
                for c in chain:
                    L += ['   case %s: {' % self.reg.structs[c]['stype'],
                          '      %s *s_ = vn_dec_alloc(d, sizeof(*s_));' % c,
                          '      if (!s_) return false;',
                          '      s_->sType = st_;',
                          '      if (!%s(d, (const void **)&s_->pNext)) return false;' % fn,
                          '      if (!vn_%s_%s_self(d, s_)) return false;' % (mode, c),
                          '      *pnext = s_;', '      break;', '   }']
                L += ['   default:',
                      '      return vn_dec_fail(d, "sType %%d not allowed in the pNext chain of %s", (int)st_);' % root,
                      '   }', '   d->depth--;', '   return true;']
            else:
                L += ['   return vn_dec_fail(d, "%s takes no pNext chain");' % root]
        self.protos.append(sig + ';')
        self.out.append(sig + '\n{\n' + '\n'.join(L) + '\n}\n')

    # ---- commands ---------------------------------------------------------
    def param_role(self, p, params):
        kind = self.member_kind(p)
        t = self.reg.canon(p.type)
        is_out = p.ptr >= 1 and not p.const and kind not in ('allocator',)
        if not is_out:
            return kind, 'in'
        referenced = any(o.len and o.len.split(',')[0] == p.name for o in params)
        if kind in ('pointer',) and referenced:
            return kind, 'inout_count'
        if t in self.reg.handles:
            return kind, 'out_handle' if kind == 'pointer' else 'out_handles'
        return kind, 'out'

    def command(self, name):
        c = self.reg.commands[name]
        params = c['params']
        pmap = {p.name: p for p in params}
        fields, dec, enc, call = [], [], [], []
        post = []
        first = params[0] if params else None
        table = None
        if first is not None and first.ptr == 0 and self.reg.canon(first.type) in INSTANCE_HANDLES:
            table = 'it'
        elif first is not None and first.ptr == 0 and self.reg.canon(first.type) in DEVICE_HANDLES:
            table = 'dt'
        for p in params:
            kind, role = self.param_role(p, params)
            t = self.reg.canon(p.type)
            pt = p.type
            a = 'a->' + p.name
            opt = p.optional or p.noauto
            if role == 'in':
                if kind == 'allocator':
                    fields.append('const VkAllocationCallbacks *%s;' % p.name)
                    dec.append('{ bool m_; if (!vn_dec_marker(d, &m_)) return false; if (m_) return vn_dec_fail(d, "%s: allocation callbacks cannot cross the wire"); }' % name)
                    call.append('NULL')
                    continue
                if kind == 'handle':
                    fields.append('%s %s;' % (pt, p.name))
                    fields.append('struct vs_object *%s_obj;' % p.name)
                    dec.append('{ uint64_t h_; if (!vn_dec_handle(d, %s, %s, &h_, &a->%s_obj)) return false; %s = (%s)(uintptr_t)h_; }'
                               % (self.reg.handles[t], 'true' if opt else 'false', p.name, a, pt))
                elif kind == 'scalar' or kind == 'union' or kind == 'struct':
                    fields.append('%s %s;' % (pt, p.name))
                    dec += self.dec_value(t, a, opt, 'dec')
                elif kind == 'array_fixed':
                    fields.append('%s %s[%s];' % (pt, p.name, p.dims[0]))
                    dec += self.member_code(p, params, 'dec', 'a->')
                elif kind == 'array_of_arrays':
                    inner = INNER_LEN.get((name, p.name))
                    if inner is None:
                        raise Unsupported('array of arrays of unknown length')
                    fields.append('const %s *const *%s;' % (self.elem_ctype(p), p.name))
                    inner = re.sub(r'(?<![>\w.])([A-Za-z_]\w*)', lambda mo: mo.group(1) if mo.group(1) in ('i_',) else 'a->' + mo.group(1), inner)
                    dec += self.array_of_arrays_code(p, self.len_expr(p, 'a->', pmap), inner, a, 'dec')
                elif kind == 'array' and t in self.reg.handles:
                    # Handle arrays keep their objects too, for the
                    # hand-written commands that free or check them.
                    cnt = self.len_expr(p, 'a->', pmap)
                    fields += ['const %s *%s;' % (pt, p.name), 'struct vs_object **%s_objs;' % p.name]
                    dec += ['{ bool p_; if (!vn_dec_array_size_opt(d, %s, &p_)) return false;' % cnt,
                            '  if (p_) { %s *h_ = vn_dec_alloc_array(d, %s, sizeof(*h_), 8);' % (pt, cnt),
                            '    struct vs_object **o_ = vn_dec_alloc_array(d, %s, sizeof(*o_), 0);' % cnt,
                            '    if (%s && (!h_ || !o_)) return false;' % cnt,
                            '    for (uint32_t i_ = 0; i_ < %s; i_++) {' % cnt,
                            '      uint64_t v_; if (!vn_dec_handle(d, %s, %s, &v_, &o_[i_])) return false;'
                            % (self.reg.handles[t], 'true' if opt else 'false'),
                            '      h_[i_] = (%s)(uintptr_t)v_; }' % pt,
                            '    %s = h_; %s_objs = o_; } }' % (a, a)]
                else:
                    ctype = {'string': 'const char *', 'string_array': 'const char *const *',
                             'blob': 'const void *'}.get(kind, 'const %s *' % (self.elem_ctype(p)))
                    fields.append('%s%s;' % (ctype, p.name))
                    if kind == 'string_array':
                        dec += [l.replace('%s = s_;' % a, '%s = (const char *const *)s_;' % a)
                                for l in self.member_code(p, params, 'dec', 'a->')]
                    else:
                        dec += self.member_code(p, params, 'dec', 'a->')
                call.append(a)
                continue
            # outputs
            if role in ('inout_count', 'out') and kind == 'pointer' and self.reg.scalar(t):
                fields.append('%s *%s;' % (pt, p.name))
                fields.append('%s %s_storage;' % (pt, p.name))
                body = self.dec_value(t, a + '_storage', True, 'dec') if role == 'inout_count' else []
                dec.append('{ bool m_; if (!vn_dec_marker(d, &m_)) return false;')
                dec.append('  if (m_) { %s = &%s_storage;' % (a, a))
                dec += ['    ' + s for s in body]
                dec.append('  } }')
                enc += ['vn_enc_marker(e, %s != NULL);' % a, 'if (%s) {' % a] + \
                    ['   ' + s for s in self.enc_value(t, '*' + a)] + ['}']
                call.append(a)
                continue
            if role == 'out_handle':
                fields += ['%s *%s;' % (pt, p.name), '%s %s_storage;' % (pt, p.name), 'uint64_t %s_id;' % p.name]
                dec += ['{ bool m_; if (!vn_dec_marker(d, &m_)) return false;',
                        '  if (!m_) return vn_dec_fail(d, "%s: missing output handle");' % name,
                        '  if (!vn_dec_new_id(d, &%s_id)) return false;' % a,
                        '  %s = &%s_storage; }' % (a, a)]
                enc += ['vn_enc_marker(e, true);', 'vn_enc_u64(e, %s_id);' % a]
                call.append(a)
                continue
            if role == 'out_handles':
                cnt = self.len_expr(p, 'a->', pmap)
                fields += ['%s *%s;' % (pt, p.name), 'uint64_t *%s_ids;' % p.name, 'uint32_t %s_count;' % p.name]
                creates = name.startswith(('vkCreate', 'vkAllocate'))
                dec += ['{ uint64_t n_; if (!vn_dec_array_size(d, &n_)) return false;',
                        '  if (n_ && n_ != (uint64_t)(%s)) return vn_dec_fail(d, "%s: %%llu output handles for count %%llu", (unsigned long long)n_, (unsigned long long)(%s));' % (cnt, name, cnt),
                        '  %s_count = (uint32_t)n_;' % a,
                        '  %s_ids = vn_dec_alloc_array(d, n_, sizeof(uint64_t), 8);' % a,
                        '  %s = vn_dec_alloc_array(d, n_, sizeof(*%s), 0);' % (a, a),
                        '  if (n_ && (!%s_ids || !%s)) return false;' % (a, a),
                        '  for (uint32_t i_ = 0; i_ < n_; i_++)',
                        '     if (!vn_dec_%s(d, &%s_ids[i_])) return false; }' % ('new_id' if creates else 'handle_id', a)]
                enc += ['if (!%s) {' % a, '   vn_enc_array_size(e, 0);', '} else {',
                        '   vn_enc_array_size(e, %s_count);' % a,
                        '   for (uint32_t i_ = 0; i_ < %s_count; i_++)' % a,
                        '      vn_enc_u64(e, %s_ids[i_]);' % a, '}']
                call.append(a)
                continue
            # out struct / out arrays / out blobs
            if kind == 'pointer':
                fields.append('%s *%s;' % (self.elem_ctype(p), p.name))
                dec += ['{ bool m_; if (!vn_dec_marker(d, &m_)) return false;',
                        '  if (m_) { %s = vn_dec_alloc(d, sizeof(*%s)); if (!%s) return false;' % (a, a, a)] + \
                    ['    ' + s for s in self.dec_value(t, '*' + a, True, 'part')] + ['  } }']
                enc += ['vn_enc_marker(e, %s != NULL);' % a, 'if (%s) {' % a] + \
                    ['   ' + s for s in self.enc_value(t, '*' + a)] + ['}']
            elif kind in ('array', 'blob'):
                cnt = self.len_expr(p, 'a->', pmap)
                is_blob = kind == 'blob'
                fields.append('%s *%s;' % ('void' if is_blob else self.elem_ctype(p), p.name))
                fields.append('uint64_t %s_count;' % p.name)
                dec += ['{ uint64_t n_; if (!vn_dec_array_size(d, &n_)) return false;',
                        '  if (n_ && n_ != (uint64_t)(%s)) return vn_dec_fail(d, "%s: output array size %%llu for count %%llu", (unsigned long long)n_, (unsigned long long)(%s));' % (cnt, name, cnt),
                        '  %s_count = n_;' % a]
                if is_blob:
                    dec += ['  if (n_) { %s = vn_dec_alloc_array(d, n_, 1, 0); if (!%s) return false; } }' % (a, a)]
                    enc += ['if (%s) { vn_enc_array_size(e, %s); vn_enc_bytes(e, %s, (size_t)(%s)); } else { vn_enc_array_size(e, 0); }'
                            % (a, cnt, a, cnt)]
                else:
                    body = self.dec_value(t, '%s[i_]' % a, True, 'part')
                    dec += ['  if (n_) { %s = vn_dec_alloc_array(d, n_, sizeof(*%s), 0); if (!%s) return false;' % (a, a, a),
                            '    for (uint32_t i_ = 0; i_ < n_; i_++) {'] + \
                        ['      ' + s for s in body] + ['    } } }']
                    enc += ['if (%s) {' % a, '   uint64_t n_ = %s;' % cnt,
                            '   if (n_ > %s_count) n_ = %s_count;' % (a, a),
                            '   vn_enc_array_size(e, n_);',
                            '   for (uint32_t i_ = 0; i_ < n_; i_++) {'] + \
                        ['      ' + s for s in self.enc_value(t, '%s[i_]' % a)] + \
                        ['   }', '} else {', '   vn_enc_array_size(e, 0);', '}']
            else:
                raise Unsupported('output ' + kind)
            call.append(a)
        ret = c['ret']
        if ret not in ('void', 'VkResult') and not self.reg.scalar(ret):
            raise Unsupported('return type ' + ret)
        if ret != 'void':
            fields.append('%s ret;' % ret)
        return {'name': name, 'fields': fields, 'dec': dec, 'enc': enc, 'call': call,
                'table': table, 'ret': ret, 'params': params}

    def create_destroy(self, info):
        """Object binding for the default execution of create/destroy."""
        name, params = info['name'], info['params']
        last = params[-1]
        lt = self.reg.canon(last.type)
        if name.startswith(('vkCreate', 'vkAllocate')) and last.ptr == 1 and not last.const \
                and lt in self.reg.handles:
            return ('create', lt, last)
        if name.startswith(('vkDestroy', 'vkFree')) and len(params) == 3 \
                and self.reg.canon(params[2].type) == 'VkAllocationCallbacks':
            h = params[1]
            ht = self.reg.canon(h.type)
            if h.ptr == 0 and ht in self.reg.handles and ht not in ('VkInstance', 'VkDevice'):
                return ('destroy', ht, h)
        return None

    def default_exec(self, info):
        name, params = info['name'], info['params']
        first = params[0]
        if info['table'] is None:
            raise Unsupported('no dispatchable first parameter')
        member = name[2:]
        L = ['   PFN_%s fn_ = a->%s_obj->%s->%s;' % (name, first.name, info['table'], member),
             '   if (!fn_) {',
             '      vs_runner_fail(runner, "%s is not available on the host");' % name,
             '      return;', '   }']
        callexpr = 'fn_(%s)' % ', '.join(info['call'])
        L.append('   %s%s;' % ('a->ret = ' if info['ret'] != 'void' else '', callexpr))
        cd = self.create_destroy(info)
        if cd and cd[0] == 'create':
            _, ht, p = cd
            objtype = self.reg.handles[ht]
            ok = 'a->ret >= VK_SUCCESS' if info['ret'] == 'VkResult' else 'true'
            # A created object holds the resources its create info names
            # (vs_runner_hold_created): a view keeps its image alive.
            if p.len:
                L += ['   if (%s) {' % ok,
                      '      for (uint32_t i_ = 0; i_ < a->%s_count; i_++) {' % p.name,
                      '         if (a->%s[i_] != VK_NULL_HANDLE)' % p.name,
                      '            vs_runner_hold_created(runner, vs_runner_add_object(runner, %s, a->%s_ids[i_], (uint64_t)(uintptr_t)a->%s[i_], a->%s_obj));'
                      % (objtype, p.name, p.name, first.name),
                      '      }', '   }']
            else:
                L += ['   if (%s)' % ok,
                      '      vs_runner_hold_created(runner, vs_runner_add_object(runner, %s, a->%s_id, (uint64_t)(uintptr_t)a->%s_storage, a->%s_obj));'
                      % (objtype, p.name, p.name, first.name)]
                # A create the guest did not wait for: its later use says why.
                if info['ret'] == 'VkResult':
                    L += ['   else',
                          '      vs_runner_note_failed_create(runner, "%s", a->ret, a->%s_id);' % (name, p.name)]
        elif cd and cd[0] == 'destroy':
            # A held object outlives the guest's destroy: the host object
            # goes when its last holder lets go (wire/lifetime.h).
            _, ht, p = cd
            L[0:0] = ['   if (a->%s_obj && !vs_runner_retire_object(runner, a->%s_obj))' % (p.name, p.name),
                      '      return;']
            L += ['   if (a->%s_obj)' % p.name,
                  '      vs_runner_remove_object(runner, a->%s_obj);' % p.name]
        return L

    # ---- driver -----------------------------------------------------------
    def run(self):
        reg = self.reg
        self.pending = []
        cmds = []
        unsupported = []
        for value, vname in reg.command_types:
            cname = reg.canon_cmd(vname)
            try:
                snapshot = (list(self.pending), set(self.needed), set(self.pnext_needed))
                info = self.command(cname)
                if self.semantics.get(cname) != 'own':
                    info['exec'] = self.default_exec(info)
                cmds.append((value, cname, info))
            except Unsupported as ex:
                self.pending, self.needed, self.pnext_needed = snapshot[0], snapshot[1], snapshot[2]
                unsupported.append((value, cname, str(ex)))
        # Structs reachable from the commands, in every form they are used.
        while self.pending:
            mode, t = self.pending.pop()
            if mode.startswith('pnext-'):
                self.emit_pnext(mode[6:], t)
            else:
                self.emit_struct(mode, t)
        self.cmds = cmds
        self.unsupported = unsupported

    def extension_mask(self):
        """Bit 0 (the mask is meaningful) and every extension whose structs
        all decode and whose commands all have a Venus number: a guest
        offers an extension of the mask when the host has it, then sends
        its commands. A numbered command the decoder lacks is one the guest
        sends in another form (vkMapMemory*, the template and host-pointer
        variants: see the unsupported report)."""
        bits = {0}
        numbered = set(self.reg.canon_cmd(n) for _, n in self.reg.command_types)
        rewritten = self.reg.venus.find('rewritten')
        rewritten = set(t.get('name') for t in (rewritten if rewritten is not None else []))
        for ext, (num, types) in self.reg.ext_types.items():
            if num >= 32 * 32:
                continue
            if all(self.struct_ok(t) for t in types
                   if self.reg.canon(t) in self.reg.structs and not self.reg.structs[self.reg.canon(t)]['union']
                   and self.reg.canon(t) not in rewritten) \
                    and all(self.reg.canon_cmd(c) in numbered for c in self.reg.ext_cmds.get(ext, [])):
                bits.add(num)
        v = self.reg.venus.find('extensions')
        for e in v:
            bits.add(int(e.get('number')))
        words = [0] * 32
        for b in bits:
            if b < 32 * 32:
                words[b // 32] |= 1 << (b % 32)
        return words, bits


BANNER = '/* Generated by gen/venus_gen.py from vk.xml and protocol/venus.xml. Do not edit. */'


def write_file(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def venus_declarations(reg):
    """C declarations of the Venus additions: types and entry points."""
    L = []
    for t in reg.venus.find('types'):
        if t.get('category') == 'bitmask':
            L.append('typedef VkFlags %s;' % t.get('name'))
    for t in reg.venus.find('types'):
        if t.get('category') != 'struct':
            continue
        name = t.get('name')
        if t.get('stype'):
            L.append('#define %s ((VkStructureType)%s)' % (
                t.find('member').get('values'), t.get('stype')))
        L.append('typedef struct %s {' % name)
        for m in t.findall('member'):
            L.append('   %s;' % ' '.join(''.join(m.itertext()).split()))
        L.append('} %s;' % name)
    L.append('')
    for t in reg.venus.find('commands'):
        proto = t.find('proto')
        params = ', '.join(' '.join(''.join(p.itertext()).split()) for p in t.findall('param'))
        L.append('typedef %s (VKAPI_PTR *PFN_%s)(%s);' % (proto.findtext('type'), proto.findtext('name'), params))
    return L


def write_vk_header(g, path):
    """vn_vk.h: the host side of the API, with no codec: Venus types,
    entry-point tables, result names, destroy-by-type."""
    reg = g.reg
    L = [BANNER, '#ifndef VN_VK_H', '#define VN_VK_H', '',
         '#include <stdbool.h>', '#include <stdint.h>', '#include <vulkan/vulkan.h>', '']
    L += venus_declarations(reg)
    L += ['', 'const char *vn_result_name(VkResult result);', '',
          '/* The bytes of one texel block of a format\'s aspect in a buffer copy,',
          ' * and the block\'s extent in texels (from vk.xml\'s <formats>). */',
          'struct vn_format_block {', '   uint32_t bytes;', '   uint32_t width, height, depth;', '};',
          '/* False for VK_FORMAT_UNDEFINED, unknown formats and aspects the format',
          ' * does not have. */',
          'bool vn_format_block(VkFormat format, VkImageAspectFlags aspect, struct vn_format_block *out);', '']
    for table, handles in (('instance', INSTANCE_HANDLES), ('device', DEVICE_HANDLES)):
        L.append('struct vn_%s_table {' % table)
        L += ['   PFN_%s %s;' % (name, name[2:]) for name in table_commands(reg, handles)]
        L.append('};')
    L += ['void vn_load_instance_table(VkInstance instance, PFN_vkGetInstanceProcAddr gipa,',
          '                            struct vn_instance_table *t);',
          'void vn_load_device_table(VkDevice device, PFN_vkGetDeviceProcAddr gdpa,',
          '                          struct vn_device_table *t);',
          '/* Destroys a device child with its vkDestroy or vkFree entry point. */',
          'bool vn_destroy_device_object(const struct vn_device_table *t, VkDevice device, VkObjectType type, uint64_t handle);',
          '', '#endif']
    write_file(path, L)


def write_vk_source(g, path):
    reg = g.reg
    L = [BANNER, '#include "vn_vk.h"', '', '#include <string.h>', '']
    for table, handles, loader, getter, obj in (
            ('instance', INSTANCE_HANDLES, 'vn_load_instance_table', 'PFN_vkGetInstanceProcAddr gipa', 'VkInstance instance'),
            ('device', DEVICE_HANDLES, 'vn_load_device_table', 'PFN_vkGetDeviceProcAddr gdpa', 'VkDevice device')):
        L.append('void\n%s(%s, %s,\n   struct vn_%s_table *t)\n{' % (loader, obj, getter, table))
        L.append('   memset(t, 0, sizeof(*t));')
        call = 'gipa(instance, "%s")' if table == 'instance' else 'gdpa(device, "%s")'
        for name in table_commands(reg, handles):
            for alias in reg.cmd_names(name):
                L.append('   if (!t->%s) t->%s = (PFN_%s)%s;' % (name[2:], name[2:], name, call % alias))
        L.append('}\n')
    L += ['bool', 'vn_destroy_device_object(const struct vn_device_table *t, VkDevice device, VkObjectType type, uint64_t handle)',
          '{', '   switch (type) {']
    for h, objtype in sorted(reg.handles.items()):
        for verb in ('Destroy', 'Free'):
            cname = 'vk%s%s' % (verb, h[2:])
            c = reg.commands.get(cname)
            if c and cname in reg.available_cmds and len(c['params']) == 3 and \
                    reg.canon(c['params'][0].type) == 'VkDevice' and \
                    reg.canon(c['params'][2].type) == 'VkAllocationCallbacks':
                L += ['   case %s:' % objtype,
                      '      if (!t->%s) return false;' % cname[2:],
                      '      t->%s(device, (%s)(uintptr_t)handle, NULL);' % (cname[2:], h),
                      '      return true;']
    L += ['   default:', '      return false;', '   }', '}', '']
    L += ['const char *', 'vn_result_name(VkResult result)', '{', '   switch ((int)result) {']
    for name, value in reg.result_values:
        L.append('   case %s: return "%s";' % (value, name))
    L += ['   default: return "VK_RESULT_UNKNOWN";', '   }', '}', '']
    L += format_block_source(reg)
    write_file(path, L)


def format_block_source(reg):
    """vn_format_block: a switch over the formats the headers know."""
    def depth_bytes(bits):
        return 2 if bits == '16' else 4
    L = ['bool', 'vn_format_block(VkFormat format, VkImageAspectFlags aspect, struct vn_format_block *out)', '{',
         '   *out = (struct vn_format_block){ 0, 1, 1, 1 };', '   switch ((int)format) {']
    for name in sorted(reg.formats):
        if name not in reg.available_types and name not in reg.enum_values:
            continue
        size, ext, d, st, planes = reg.formats[name]
        L.append('   case %s:' % name)
        if d or st:
            if d:
                L.append('      if (aspect == VK_IMAGE_ASPECT_DEPTH_BIT) { out->bytes = %d; return true; }' % depth_bytes(d))
            if st:
                L.append('      if (aspect == VK_IMAGE_ASPECT_STENCIL_BIT) { out->bytes = 1; return true; }')
            L.append('      return false;')
        elif planes:
            for i, compat in enumerate(planes):
                csize = reg.formats[compat][0]
                L.append('      if (aspect == VK_IMAGE_ASPECT_PLANE_%d_BIT) { out->bytes = %d; return true; }' % (i, csize))
            L.append('      return false;')
        else:
            L += ['      if (aspect != VK_IMAGE_ASPECT_COLOR_BIT) return false;',
                  '      *out = (struct vn_format_block){ %d, %d, %d, %d };' % (size, ext[0], ext[1], ext[2]),
                  '      return true;']
    L += ['   default:', '      return false;', '   }', '}']
    return L


def write_wire_header(g, path):
    """vn_wire.h: what the hand-written dispatcher and handlers see: the
    command numbers, the decoded argument structs, the handler table and
    the command descriptions the runner walks."""
    reg = g.reg
    L = [BANNER, '#ifndef VN_WIRE_H', '#define VN_WIRE_H', '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '#include <vulkan/vulkan.h>', '',
         '#include "wire/cs.h"', '#include "vn_vk.h"', '']
    spec = {e.get('name'): int(e.get('spec_version')) for e in reg.venus.find('extensions')}
    words, _ = g.extension_mask()
    L += ['#define VN_COMMAND_GENERATE_REPLY_BIT 0x1u',
          '#define VN_WIRE_FORMAT_VERSION %s' % reg.venus.get('wire_format_version'),
          '/* The registry and Venus additions the decoder was generated from:',
          ' * the capset announces exactly these. */',
          '#define VN_VK_XML_VERSION 0x%08xu' % reg.header_version,
          '#define VN_EXT_COMMAND_SERIALIZATION_SPEC_VERSION %du' % spec['VK_EXT_command_serialization'],
          '#define VN_MESA_VENUS_PROTOCOL_SPEC_VERSION %du' % spec['VK_MESA_venus_protocol'],
          '/* Words of vn_extension_mask up to its last set bit. */',
          '#define VN_EXTENSION_MASK_WORDS %du' % (max(i for i, w in enumerate(words) if w) + 1), '']
    L.append('enum vn_command_type {')
    for value, name, _ in g.cmds:
        L.append('   VN_CMD_%s = %d,' % (name, value))
    L.append('   VN_CMD_TYPE_COUNT = %d,' % (max(v for v, _ in reg.command_types) + 1))
    L += ['};', '',
          'const char *vn_command_name(uint32_t type);',
          'extern const uint32_t vn_extension_mask[32];',
          '/* True if every struct of the extension can cross the wire. */',
          'bool vn_extension_decodable(const char *name);',
          '/* The bytes up to the end of the last member of a VkDeviceCreateInfo',
          ' * chain struct made only of VkBool32 features (VkPhysicalDeviceFeatures2',
          ' * included); 0 for any other struct. */',
          'size_t vn_feature_struct_size(VkStructureType type);', '']
    for value, name, info in g.cmds:
        L.append('struct vn_args_%s {' % name)
        L += ['   ' + f for f in info['fields']] or ['   int unused;']
        L.append('};')
    L += ['', 'struct vs_runner;', '',
          '/* One handler per command: the generated default execution unless',
          ' * protocol/semantics.txt gives the command to a hand-written family,',
          ' * which registers its handler with vn_exec_table_init\'s result. */',
          'struct vn_exec_table {']
    for value, name, info in g.cmds:
        L.append('   void (*%s)(struct vs_runner *runner, struct vn_args_%s *a);' % (name, name))
    L += ['};', '',
          '/* Fills every command with its generated default; hand-written',
          ' * commands are left NULL for their family to register. */',
          'void vn_exec_table_init(struct vn_exec_table *t);',
          '/* The first command of semantics.txt with no handler, NULL if none. */',
          'const char *vn_exec_table_missing(const struct vn_exec_table *t);', '']
    for value, name, info in g.cmds:
        if g.semantics.get(name) == 'wrap':
            L.append('void vn_default_%s(struct vs_runner *runner, struct vn_args_%s *a);' % (name, name))
    L += ['', '/* The checks of protocol/checks.txt, run before a command\'s handler',
          ' * (filled by vn_check_table_init in the renderer layer). */',
          'struct vn_check_table {']
    for value, name, info in g.cmds:
        if name in g.checks:
            L.append('   bool (*%s)(struct vs_runner *runner, struct vn_args_%s *a);' % (name, name))
    if not g.checks:
        L.append('   int unused;')
    L += ['};', '',
          '/* What a snapshot\'s journal keeps of a command (gen/venus_gen.py',
          ' * derives it from the command\'s name and parameters in vk.xml;',
          ' * protocol/venus.xml\'s <journal> gives the exceptions). */',
          'enum vn_journal_class {',
          '   VN_JOURNAL_TRANSIENT,   /* leaves no state a replay needs */',
          '   VN_JOURNAL_CREATE,      /* makes the objects it names last */',
          '   VN_JOURNAL_END,         /* ends objects of journal_owner\'s type */',
          '   VN_JOURNAL_STATE,       /* changes lasting state of its owners */',
          '   VN_JOURNAL_RECORD,      /* records into its command buffer */',
          '   VN_JOURNAL_BEGIN,       /* a recording anew: the earlier one is gone */',
          '   VN_JOURNAL_RESET,       /* its command buffers\' recordings are gone */',
          '   VN_JOURNAL_UNREPLAYABLE /* state a replay cannot rebuild */',
          '};', '',
          '/* How the runner (src/wire/runner.c) handles one command type. */',
          'struct vn_command_info {',
          '   const char *name;',
          '   size_t args_size;',
          '   bool (*decode)(struct vn_decoder *d, void *args);',
          '   /* False when the table has no handler for the command. */',
          '   bool (*call)(const struct vn_exec_table *t, struct vs_runner *runner, void *args);',
          '   void (*encode_reply)(struct vn_encoder *e, const void *args);',
          '   /* NULL when the command has no checks; false when one failed. */',
          '   bool (*check)(const struct vn_check_table *t, struct vs_runner *runner, void *args);',
          '   /* Recorded into its command buffer, which then holds every object',
          '    * the command names (wire/lifetime.h). */',
          '   bool records;',
          '   /* Commands on a device (their first parameter is it, one of its',
          '    * queues or command buffers) that may return VK_ERROR_DEVICE_LOST:',
          '    * offsets of that parameter\'s object and of the result in the',
          '    * args; both 0 for other commands (wire/runner.c). */',
          '   size_t lost_object, lost_result;',
          '   /* What a snapshot\'s journal keeps of the command (wire/journal.h):',
          '    * its class, the type of the objects whose life its entry follows',
          '    * (VK_OBJECT_TYPE_UNKNOWN: the objects it creates) and, for a',
          '    * create, the offsets in the args of the created id or of the ids',
          '    * and their count (0 where none). */',
          '   uint8_t journal;',
          '   VkObjectType journal_owner;',
          '   size_t created_id, created_ids, created_count;',
          '};',
          '/* Indexed by command type; commands with no wire form have no decode. */',
          'extern const struct vn_command_info vn_commands[VN_CMD_TYPE_COUNT];', '',
          '#endif']
    write_file(path, L)


# The reads whose wire size is fixed, as the generator writes them (one
# line each): the room for a run of them is checked once (vn_dec_need) and
# each is read by its vn_take_ form. A run ends after an array size or a
# marker whose block reads more.
FIXED_READS = [
    (re.compile(r'^if \(!vn_dec_(u32|i32|f32|u8|i8|u16|i16|enum)\((d, [^;]*)\)\) return false;$'), 4, 'scalar'),
    (re.compile(r'^if \(!vn_dec_(u64|i64|f64)\((d, [^;]*)\)\) return false;$'), 8, 'scalar'),
    (re.compile(r'^\{ uint64_t h_; if \(!vn_dec_(handle)\(d, '), 8, 'call'),
    (re.compile(r'^\{ bool [mp]_; if \(!vn_dec_(marker|array_size_opt)\(d, '), 8, 'call'),
    (re.compile(r'^\{ uint64_t n_; if \(!vn_dec_(array_size)\(d, '), 8, 'call'),
]


def fixed_read(line):
    """(wire size, the line as a vn_take_ read, whether a run goes on after
    it) of a fixed-size read at the top level of a function, else None."""
    for pattern, size, form in FIXED_READS:
        mo = pattern.match(line)
        if not mo:
            continue
        if form == 'scalar':
            return size, 'vn_take_%s(%s);' % (mo.group(1), mo.group(2)), True
        taken = line.replace('vn_dec_' + mo.group(1) + '(', 'vn_take_' + mo.group(1) + '(', 1)
        return size, taken, line.count('{') == line.count('}')
    return None


def fixed_runs(lines):
    """lines (a function body, nested lines indented) with each run of two
    or more fixed-size reads checked at once."""
    out, run, size = [], [], 0

    def flush():
        if len(run) > 1:
            out.append('if (!vn_dec_need(d, %d)) return false;' % size)
            out.extend(taken for _, taken in run)
        else:
            out.extend(line for line, _ in run)
        run.clear()

    for line in lines:
        read = None if line.startswith(' ') else fixed_read(line)
        if read is None:
            flush()
            size = 0
            out.append(line)
            continue
        run.append((line, read[1]))
        size += read[0]
        if not read[2]:
            flush()
            size = 0
    flush()
    return out


def decoder_function(sig, body, arg):
    """A decoder's definition: body (unindented statements) with its fixed
    reads checked by runs."""
    body = fixed_runs(body)
    return '%s\n{\n%s%s   return true;\n}\n' % (sig, ''.join('   %s\n' % l for l in body),
                                                 '' if body else '   (void)d;\n   (void)%s;\n' % arg)


def command_functions(g, name, info):
    """The generated functions of one command, as (prototype, definition)."""
    out = []
    sig = 'bool vn_decode_%s(%s, void *args)' % (name, DEC_D)
    body = ['   struct vn_args_%s *a = args;' % name] + ['   ' + s for s in fixed_runs(info['dec'])]
    out.append((sig, '%s\n{\n%s\n   (void)d;\n   (void)a;\n   return true;\n}\n' % (sig, '\n'.join(body))))
    sig = 'void vn_encode_reply_%s(struct vn_encoder *e, const void *args)' % name
    body = ['   const struct vn_args_%s *a = args;' % name, '   vn_enc_u32(e, VN_CMD_%s);' % name]
    if info['ret'] != 'void':
        body += ['   ' + s for s in g.enc_value(info['ret'], 'a->ret')]
    body += ['   ' + s for s in info['enc']]
    out.append((sig, '%s\n{\n%s\n   (void)a;\n}\n' % (sig, '\n'.join(body))))
    if 'exec' in info:
        sig = 'void vn_default_%s(struct vs_runner *runner, struct vn_args_%s *a)' % (name, name)
        out.append((sig, '%s\n{\n%s\n}\n' % (sig, '\n'.join(info['exec']))))
    sig = 'bool vn_call_%s(const struct vn_exec_table *t, struct vs_runner *runner, void *args)' % name
    out.append((sig, '%s\n{\n   if (!t->%s)\n      return false;\n   t->%s(runner, args);\n   return true;\n}\n'
                % (sig, name, name)))
    if name in g.checks:
        sig = 'bool vn_check_%s(const struct vn_check_table *t, struct vs_runner *runner, void *args)' % name
        out.append((sig, '%s\n{\n   return !t->%s || t->%s(runner, args);\n}\n' % (sig, name, name)))
    return out


def write_codec(g, out_dir, units):
    """The codec: vn_wire_codec.h (prototypes shared by the units) and
    vn_wire_<i>.c, split by size so the units compile in parallel."""
    funcs = [(p.rstrip(';'), d) for p, d in zip(g.protos, g.out)]
    for value, name, info in g.cmds:
        funcs += command_functions(g, name, info)
    L = [BANNER, '#ifndef VN_WIRE_CODEC_H', '#define VN_WIRE_CODEC_H', '',
         '#include "vn_wire.h"', '']
    L += [p + ';' for p, _ in funcs]
    L += ['', '#endif']
    write_file(os.path.join(out_dir, 'vn_wire_codec.h'), L)
    total = sum(d.count('\n') for _, d in funcs)
    per_unit = total // units + 1
    chunks = [[] for _ in range(units)]
    i, size = 0, 0
    for _, d in funcs:
        if size >= per_unit and i < units - 1:
            i, size = i + 1, 0
        chunks[i].append(d)
        size += d.count('\n')
    for i, chunk in enumerate(chunks):
        L = [BANNER, '#include "vn_wire_codec.h"', '', '#include <string.h>', '',
             '#include "wire/runner.h"', '',
             '#pragma GCC diagnostic ignored "-Wtype-limits"', '']
        write_file(os.path.join(out_dir, 'vn_wire_%d.c' % i), L + chunk)


def records_into_command_buffer(reg, name):
    """vkCmd* and vkBeginCommandBuffer (its inheritance info) record into
    the command buffer they are given first."""
    params = reg.commands[name]['params']
    if not params or params[0].ptr != 0 or reg.canon(params[0].type) != 'VkCommandBuffer':
        return False
    return name.startswith('vkCmd') or name == 'vkBeginCommandBuffer'


JOURNAL_CLASSES = ('transient', 'create', 'end', 'state', 'record', 'begin', 'reset', 'unreplayable')


def first_handle(reg, params):
    """The type of the first non-dispatchable handle (or command buffer)
    among params, looking into a struct a parameter points to: the object
    a state command changes (vkBindBufferMemory's buffer, the dstSet of
    vkUpdateDescriptorSets' first write)."""
    for p in params:
        t = reg.canon(p.type)
        if t in reg.handles and t not in ('VkInstance', 'VkPhysicalDevice', 'VkDevice', 'VkQueue'):
            return t
        if p.ptr == 1 and t in reg.structs:
            inner = first_handle(reg, [m for m in reg.structs[t]['members'] if m.ptr == 0])
            if inner:
                return inner
    return None


def journal_exceptions(reg):
    """name -> (class, owner type or None) from venus.xml's <journal>."""
    out = {}
    j = reg.venus.find('journal')
    for c in (j if j is not None else []):
        cls = c.get('class')
        if cls not in JOURNAL_CLASSES:
            sys.exit('venus.xml: journal class %r of %s' % (cls, c.get('command')))
        out[c.get('command')] = (cls, c.get('owner'))
    return out


def journal_class(reg, name, exceptions):
    """(class, owner handle type or None) of a command for the journal of
    lasting commands: vkCreate*/vkAllocate* make objects, vkDestroy*/vkFree*
    end them, vkBind*/vkUpdateDescriptorSet*/vkMerge* change an object's
    state, commands on a command buffer record into it (vkBegin* anew,
    vkReset* dropping the recording), vkImport* bring in what a replay
    cannot; the rest (queries, submissions, waits, sync signals, whose state
    a snapshot reads back) is transient."""
    if name in exceptions:
        return exceptions[name]
    params = reg.commands[name]['params']
    first = reg.canon(params[0].type) if params and params[0].ptr == 0 else None
    last = params[-1] if params else None
    if first == 'VkCommandBuffer':
        if name.startswith('vkBegin'):
            return ('begin', 'VkCommandBuffer')
        if name.startswith('vkReset'):
            return ('reset', 'VkCommandBuffer')
        return ('record', 'VkCommandBuffer')
    if name.startswith(('vkCreate', 'vkAllocate')) and last.ptr == 1 and not last.const \
            and reg.canon(last.type) in reg.handles:
        return ('create', None)
    if name.startswith(('vkDestroy', 'vkFree')):
        handles = [p for p in params if p.ptr <= 1 and reg.canon(p.type) in reg.handles]
        return ('end', reg.canon(handles[-1].type)) if handles else ('transient', None)
    if name.startswith(('vkBind', 'vkUpdateDescriptorSet', 'vkMerge')):
        owner = first_handle(reg, params[1:])
        if not owner:
            sys.exit('venus.xml: %s changes state but names no object: give it a <journal> entry' % name)
        return ('state', owner)
    if name.startswith('vkImport'):
        return ('unreplayable', None)
    return ('transient', None)


def journal_fields(g, name, exceptions):
    """'journal, journal_owner, created_id, created_ids, created_count' of
    vn_command_info."""
    reg = g.reg
    cls, owner = journal_class(reg, name, exceptions)
    objtype = reg.handles[reg.canon(owner)] if owner else 'VK_OBJECT_TYPE_UNKNOWN'
    created = '0, 0, 0'
    if cls == 'create':
        last = reg.commands[name]['params'][-1]
        if last.len:
            created = '0, offsetof(struct vn_args_%s, %s_ids), offsetof(struct vn_args_%s, %s_count)' % (
                name, last.name, name, last.name)
        else:
            created = 'offsetof(struct vn_args_%s, %s_id), 0, 0' % (name, last.name)
    return 'VN_JOURNAL_%s, %s, %s' % (cls.upper(), objtype, created)


def device_lost_offsets(reg, name):
    """'lost_object, lost_result' of vn_command_info: vk.xml lists
    VK_ERROR_DEVICE_LOST among the command's errors and its first parameter
    is a device or a queue or command buffer of one."""
    c = reg.commands[name]
    params = c['params']
    if c['ret'] != 'VkResult' or 'VK_ERROR_DEVICE_LOST' not in c.get('errors', ()) or not params \
            or params[0].ptr != 0 or reg.canon(params[0].type) not in ('VkDevice', 'VkQueue', 'VkCommandBuffer'):
        return '0, 0'
    return 'offsetof(struct vn_args_%s, %s_obj), offsetof(struct vn_args_%s, ret)' % (name, params[0].name, name)


def write_table(g, path):
    """vn_wire_table.c: the data the runner walks, and the handler table's
    defaults."""
    reg = g.reg
    L = [BANNER, '#include "vn_wire_codec.h"', '', '#include <string.h>', '']
    L.append('const struct vn_command_info vn_commands[VN_CMD_TYPE_COUNT] = {')
    names = dict((v, n) for v, n in reg.command_types)
    supported = dict((v, n) for v, n, _ in g.cmds)
    exceptions = journal_exceptions(reg)
    for v in sorted(names):
        canon = reg.canon_cmd(names[v])
        if v in supported:
            check = 'vn_check_%s' % canon if canon in g.checks else 'NULL'
            records = 'true' if records_into_command_buffer(reg, canon) else 'false'
            lost = device_lost_offsets(reg, canon)
            journal = journal_fields(g, canon, exceptions)
            L.append('   [%d] = { "%s", sizeof(struct vn_args_%s), vn_decode_%s, vn_call_%s, vn_encode_reply_%s, %s, %s, %s, %s },'
                     % (v, canon, canon, canon, canon, canon, check, records, lost, journal))
        else:
            L.append('   [%d] = { "%s", 0, NULL, NULL, NULL, NULL, false, 0, 0, 0, 0, 0, 0, 0 },' % (v, canon))
    L += ['};', '',
          'const char *', 'vn_command_name(uint32_t type)', '{',
          '   return type < VN_CMD_TYPE_COUNT && vn_commands[type].name ? vn_commands[type].name : "unknown";',
          '}', '',
          'void', 'vn_exec_table_init(struct vn_exec_table *t)', '{', '   memset(t, 0, sizeof(*t));']
    for value, name, info in g.cmds:
        if 'exec' in info and name not in g.semantics:
            L.append('   t->%s = vn_default_%s;' % (name, name))
    L += ['}', '', 'const char *', 'vn_exec_table_missing(const struct vn_exec_table *t)', '{']
    for value, name, info in g.cmds:
        if name in g.semantics:
            L.append('   if (!t->%s) return "%s";' % (name, name))
    L += ['   return NULL;', '}', '']
    words, bits = g.extension_mask()
    L.append('const uint32_t vn_extension_mask[32] = {')
    L.append('   ' + ', '.join('0x%08xu' % w for w in words))
    L.append('};\n')
    L += feature_struct_sizes(g)
    decodable = sorted(e for e, (n, _) in reg.ext_types.items() if n in bits)
    L.append('static const char *const vn_decodable_extensions[] = {')
    L += ['   "%s",' % e for e in decodable]
    L.append('};\n')
    L += ['bool', 'vn_extension_decodable(const char *name)', '{',
          '   for (size_t i = 0; i < sizeof(vn_decodable_extensions) / sizeof(vn_decodable_extensions[0]); i++) {',
          '      if (strcmp(vn_decodable_extensions[i], name) == 0)', '         return true;', '   }',
          '   return false;', '}']
    write_file(path, L)



def feature_struct_sizes(g):
    """vn_feature_struct_size: the structs of a VkDeviceCreateInfo chain
    that are nothing but VkBool32 features (renderer/device_snapshot.c
    copies them as bytes), up to the end of their last member: the
    padding after it is no one's."""
    reg = g.reg
    L = ['size_t', 'vn_feature_struct_size(VkStructureType type)', '{', '   switch ((int)type) {']
    for name in sorted(reg.structs):
        s = reg.structs[name]
        if not s['stype'] or 'VkDeviceCreateInfo' not in s['extends'] or not g.struct_ok(name):
            continue
        rest = s['members'][2:]
        if rest and all(not m.ptr and not m.dims and not m.bitfield and
                        m.type in ('VkBool32', 'VkPhysicalDeviceFeatures') for m in rest):
            last = rest[-1].name
            L.append('   case %s: return offsetof(%s, %s) + sizeof(((%s *)0)->%s);' % (s['stype'], name, last, name, last))
    L += ['   default: return 0;', '   }', '}', '']
    return L


def read_checks(path):
    """protocol/checks.txt: command -> [(primitive, [args])]."""
    checks = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            words = line.split('#', 1)[0].split()
            if not words:
                continue
            if len(words) < 3:
                sys.exit('%s:%d: a check needs a command, a primitive and arguments' % (path, n))
            checks.setdefault(words[0], []).append((words[1], words[2:], n))
    return checks


class CheckWriter:
    """Turns one checks.txt line into C: the paths become expressions over
    the decoded arguments `a`, with one loop for the array the line walks."""

    ARRAY = re.compile(r'([A-Za-z_]\w*(?:->\w+)*)\[([^\]]+)\]')

    def __init__(self, reg, name, params):
        self.reg = reg
        self.name = name
        self.params = {p.name: p for p in params}
        self.present_done = set()

    def rooted(self, text):
        """Prefixes parameter names (not members) with a->."""
        def repl(mo):
            start = mo.start()
            before = text[max(0, start - 2):start]
            if before.endswith('->') or before.endswith('.'):
                return mo.group(0)
            return 'a->' + mo.group(0) if mo.group(0) in self.params else mo.group(0)
        return re.sub(r'(?<![\w.])[A-Za-z_]\w*', repl, text)

    def line(self, prim, args, where):
        loop = None
        present = []
        out = []
        for arg in args:
            handle = arg.startswith('@')
            addr = arg.startswith('&')
            path = arg[1:] if handle or addr else arg
            # ?ARRAY[COUNT]: an optional array (may be NULL): the check gets
            # the element's address, or NULL (a handle: NULL as the object).
            optional = path.startswith('?')
            path = path[1:] if optional else path
            mo = self.ARRAY.search(path)
            if optional and (not mo or mo.start() != 0 or addr):
                sys.exit('%s: ? marks a parameter array: ?NAME[COUNT]' % where)
            if mo:
                base, count = mo.group(1), mo.group(2)
                if loop and loop != self.rooted(count):
                    sys.exit('%s: the arrays of one check line share one count' % where)
                loop = self.rooted(count)
                if optional:
                    cond = self.rooted(base)
                    if handle:
                        out.append('(%s ? a->%s_objs[i_] : NULL)' % (cond, base))
                    else:
                        out.append('(%s ? &%s[i_] : NULL)' % (cond, cond))
                    continue
                present.append((self.rooted(base), loop, base))
                path = path[:mo.start()] + base + '[i_]' + path[mo.end():]
            first = re.match(r'[A-Za-z_]\w*', path)
            root = first.group(0) if first else None
            if root in self.params and self.params[root].ptr and '->' in path[len(root):len(root) + 2]:
                present.insert(0, (self.rooted(root), '1', root))
            if handle:
                if root not in self.params:
                    sys.exit('%s: %s is no parameter of %s' % (where, root, self.name))
                if path == root:
                    # A handle array whole: its objects, in order.
                    out.append('a->%s_obj%s' % (root, 's' if self.params[root].ptr else ''))
                elif path == root + '[i_]' and self.params[root].ptr:
                    out.append('a->%s_objs[i_]' % root)
                else:
                    out.append('vs_runner_nested_object(runner, &%s)' % self.rooted(path))
            else:
                out.append(('&' if addr else '') + self.rooted(path))
        call = 'vs_check_%s(runner, "%s", %s)' % (prim, self.name, ', '.join(out))
        L = []
        for expr, count, what in dict.fromkeys(present):
            if (expr, count) in self.present_done:
                continue
            self.present_done.add((expr, count))
            L.append('if (!vs_check_present(runner, "%s", %s, %s, "%s")) return false;' % (self.name, expr, count, what))
        if loop:
            L.append('for (uint64_t i_ = 0; i_ < (uint64_t)(%s); i_++)' % loop)
            L.append('   if (!%s) return false;' % call)
        else:
            L.append('if (!%s) return false;' % call)
        return L


def write_checks(g, checks, path):
    """vn_checks.c (renderer layer): the check functions of checks.txt and
    the table that holds them."""
    cmds = dict((n, info) for _, n, info in g.cmds)
    L = [BANNER, '#include "renderer/validate.h"', '', '#include "wire/runner.h"', '#include "vn_wire.h"', '']
    for name in sorted(checks):
        if name not in cmds:
            sys.exit('checks.txt names %s, which has no wire form' % name)
        w = CheckWriter(g.reg, name, cmds[name]['params'])
        L.append('static bool\ncheck_%s(struct vs_runner *runner, struct vn_args_%s *a)\n{' % (name, name))
        for prim, args, n in checks[name]:
            L += ['   ' + l for l in w.line(prim, args, 'checks.txt:%d' % n)]
        L += ['   return true;', '}', '']
    L += ['void', 'vn_check_table_init(struct vn_check_table *t)', '{', '   memset(t, 0, sizeof(*t));']
    L += ['   t->%s = check_%s;' % (n, n) for n in sorted(checks)]
    L.append('}')
    write_file(path, [L[0], '#include <string.h>'] + L[1:])


# Integer parameters the host may index or address with: first* indices,
# offsets, set/binding/attachment numbers, counts that size no array, and
# arrays of offsets and sizes. tests/test_generator.sh fails on any of them
# that checks.txt does not name and tests/generator/unchecked-indices.txt
# does not excuse.
INDEX_NAME = re.compile(r'^(first[A-Z]\w*|\w*[oO]ffset|(set|binding|location|attachment|colorAttachment|query)|'
                        r'\w*Count|p(Offsets|Sizes|Strides|DynamicOffsets|CounterBufferOffsets))$')
INDEX_TYPES = ('uint32_t', 'int32_t', 'uint64_t', 'VkDeviceSize', 'size_t')


def index_params(g):
    """(command, path) of every index-shaped parameter of the wire commands:
    the command's own parameters, and the members of the structs its
    pointer parameters point to (one level: pRegions[].srcOffset)."""
    out = []
    for _, name, info in g.cmds:
        params = g.reg.commands[name]['params']
        lens = set(p.len.split(',')[0] for p in params if p.len)
        # A state setter's array count is also an index: drivers keep that
        # state in fixed arrays (viewports, color attachments, bindings).
        if name.startswith('vkCmdSet') or name.startswith('vkCmdBind'):
            lens = set()
        for p in params:
            t = g.reg.canon(p.type)
            if t in INDEX_TYPES and INDEX_NAME.match(p.name) and p.name not in lens and \
                    (p.ptr == 0 or p.len):
                out.append((name, p.name))
            st = g.reg.structs.get(t)
            if p.ptr and st and (p.const or 'const' in p.decl):
                members = st['members']
                mlens = set(m.len.split(',')[0] for m in members if m.len)
                sep = '[].' if p.len else '->'
                for m in members:
                    mt = g.reg.canon(m.type)
                    if mt in INDEX_TYPES and INDEX_NAME.match(m.name) and m.name not in mlens and \
                            (m.ptr == 0 or m.len) and not m.dims:
                        out.append((name, p.name + sep + m.name))
    return out


def index_report(g, checks):
    """Prints "checked|unchecked COMMAND PATH" for index_params: checked when
    a checks.txt line of the command names the member (or passes the whole
    struct it belongs to with &)."""
    for name, path in index_params(g):
        param, _, member = path.replace('[].', '->').partition('->')
        words = ' '.join(' '.join(args) for _, args, _ in checks.get(name, []))
        tokens = set(re.findall(r'[A-Za-z_]\w*', words))
        # The whole struct (&ARRAY[COUNT]) or the whole array (ARRAY) handed
        # to a primitive: it checks the members itself.
        whole = re.search(r'(^|\s)[&?]?%s(\[[^\]]*\])?(\s|$)' % re.escape(param), words)
        hit = (member in tokens and param in tokens) if member else param in tokens
        print('%s %s %s' % ('checked' if hit or (member and whole) else 'unchecked', name, path))


def table_commands(reg, handles):
    """Commands of an entry-point table: those available in the headers whose
    first parameter is a dispatchable handle of that table's level."""
    out = []
    for name in sorted(reg.commands):
        c = reg.commands[name]
        if c['params'] and name in reg.available_cmds and not c['params'][0].ptr and \
                reg.canon(c['params'][0].type) in handles:
            out.append(name)
    return out



def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--vk-xml', required=True)
    ap.add_argument('--venus-xml', required=True)
    ap.add_argument('--semantics', required=True)
    ap.add_argument('--checks', help='protocol/checks.txt: checks before handlers (vn_checks.c)')
    ap.add_argument('--out-dir', required=True)
    ap.add_argument('--units', type=int, default=8,
                    help='number of vn_wire_<i>.c files the codec is split into')
    ap.add_argument('--report', action='store_true', help='list unsupported commands')
    ap.add_argument('--index-report', action='store_true',
                    help='list index-shaped parameters and whether checks.txt checks them (stdout)')
    args = ap.parse_args()
    # name -> 'own' (hand-written execution) or 'wrap' (hand-written, with
    # the generated default available to it as vn_default_<name>).
    semantics = {}
    with open(args.semantics) as f:
        for line in f:
            words = line.split('#', 1)[0].split()
            if not words:
                continue
            if len(words) > 2 or (len(words) == 2 and words[1] != 'wraps-default'):
                sys.exit('semantics.txt: bad line: ' + line.strip())
            semantics[words[0]] = 'wrap' if len(words) == 2 else 'own'
    reg = Registry(args.vk_xml, args.venus_xml)
    g = Gen(reg, semantics)
    g.checks = read_checks(args.checks) if args.checks else {}
    g.run()
    missing = set(semantics) - set(n for _, n, _ in g.cmds)
    if args.report:
        for v, n, why in g.unsupported:
            print('unsupported %d %s: %s' % (v, n, why), file=sys.stderr)
    if missing:
        sys.exit('semantics.txt names commands without a wire form: ' + ', '.join(sorted(missing)))
    if args.index_report:
        index_report(g, g.checks)
        return
    os.makedirs(args.out_dir, exist_ok=True)
    write_vk_header(g, os.path.join(args.out_dir, 'vn_vk.h'))
    write_vk_source(g, os.path.join(args.out_dir, 'vn_vk.c'))
    write_wire_header(g, os.path.join(args.out_dir, 'vn_wire.h'))
    write_codec(g, args.out_dir, args.units)
    write_table(g, os.path.join(args.out_dir, 'vn_wire_table.c'))
    if args.checks:
        write_checks(g, g.checks, os.path.join(args.out_dir, 'vn_checks.c'))


if __name__ == '__main__':
    main()

"""check_forward_cli.py -- `textdiff forward` against the committed goldens:
for a few cases of data/cases.txt run the tool, read its .npy with numpy and
require the parity tolerance (max|d| <= tol * max(1, max|ref|)). Needs numpy only.
Usage: check_forward_cli.py TEXTDIFF_EXE"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ['llada-f32', 'dream-f16-pos', 'bert-q4_0', 'dit-f32-pos']


def read_gold(name):
    with open(os.path.join(HERE, 'data', name + '.gold'), 'rb') as f:
        b = f.read()
    assert b[:8] == b'TDGOLD01'
    n, n_pos, nv, att, bl, has_t, nl = struct.unpack_from('<7I', b, 8)
    t, tol = struct.unpack_from('<2f', b, 36)
    o = 44
    model = b[o:o + nl].decode()
    o += nl
    toks = np.frombuffer(b, '<i4', n, o)
    o += 4 * n
    pos = np.frombuffer(b, '<u4', n_pos, o)
    o += 4 * n_pos
    assert att in (0, 1), 'the tool runs the model default attention only'
    logits = np.frombuffer(b, '<f4', n_pos * nv, o).reshape(n_pos, nv)
    return model, toks, pos, (t if has_t else None), tol, logits


def main():
    exe = sys.argv[1]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            model, toks, pos, t, tol, ref = read_gold(name)
            out = os.path.join(tmp, name + '.npy')
            cmd = [exe, 'forward', os.path.join(HERE, 'data', model), '--tokens', ','.join(map(str, toks)),
                   '--positions', ','.join(map(str, pos)), '--threads', '2', '-o', out]
            if t is not None:
                cmd += ['--t', repr(float(t))]
            subprocess.run(cmd, check=True)
            got = np.load(out)
            diff = float(np.abs(got.astype(np.float64) - ref).max()) if got.shape == ref.shape else float('inf')
            bound = tol * max(1.0, float(np.abs(ref).max()))
            ok = diff <= bound
            bad += not ok
            print('%-16s shape %s max|diff| %.3g bound %.3g %s' % (name, got.shape, diff, bound, 'ok' if ok else 'FAIL'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

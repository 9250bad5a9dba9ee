#!/usr/bin/env python3
"""check_serve.py TEXTDIFF FIXTURES_DIR -- `textdiff serve` (issue 20) end to end.

Starts the server on a free loopback port (--port 0; the port is read from its
first stderr line), exercises every endpoint -- answers equal the command line's
(`generate --json`, `infill --json`, `score --json`, `tokenize`) for the same
settings -- streaming (every step, changed positions, the final message), a client
that disconnects mid-stream (the generation stops, the server keeps serving),
bad requests (400/404/405/413), overload (503 + Retry-After), the API key (401),
the per-request timeout (504), malformed bodies and raw garbage (fuzz-style: never
a 5xx, never a dead server), and SIGTERM (a running request still finishes, exit 0).
Python standard library only; each check prints ok/FAIL, exit 1 on any failure. docs/server.md's Python client
is run as written against the same server."""
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

EXE, FIXTURES = sys.argv[1], sys.argv[2]
MODEL = os.path.join(FIXTURES, 'llada-tiny.gguf')
ENV = {k: v for k, v in os.environ.items() if k not in ('TEXTDIFF_MODEL', 'TEXTDIFF_API_KEY')}
failures = []


def check(ok, what, detail=''):
    print('%-4s %s' % ('ok' if ok else 'FAIL', what), flush=True)
    if not ok:
        failures.append(what)
        if detail:
            print('     ' + str(detail).replace('\n', '\n     '), flush=True)


class Server:
    """One `textdiff serve` process; stderr goes to a file we read the port from."""

    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile('w+', suffix='.log', delete=False)
        model = [] if '--model' in args else [MODEL]
        self.proc = subprocess.Popen([EXE, 'serve'] + model + ['--port', '0'] + list(args), stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=ENV)
        self.port = None
        t0 = time.time()
        while time.time() - t0 < 30 and self.proc.poll() is None:
            m = re.search(r'http://127\.0\.0\.1:(\d+)/', open(self.log.name).read())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)
        if self.port is None:
            raise SystemExit('server did not start: ' + open(self.log.name).read())

    def request(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            payload = json.loads(raw) if raw and r.getheader('Content-Type', '').startswith('application/json') \
                else raw.decode('utf-8', 'replace')
        except ValueError:
            payload = raw
        return r.status, payload, r

    def post(self, path, body, **kw):
        return self.request('POST', path, body, **kw)

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = 'killed'
        log = open(self.log.name).read()
        os.unlink(self.log.name)
        return rc, log


def sse(server, path, body, headers=None, stop_after=None):
    """The events of a streaming request (parsed JSON, '[DONE]' as a string). stop_after=k: close after k events."""
    c = http.client.HTTPConnection('127.0.0.1', server.port, timeout=120)
    c.request('POST', path, body=json.dumps(body).encode(), headers=headers or {})
    r = c.getresponse()
    events = []
    if r.status != 200:
        body = json.loads(r.read())
        c.close()
        return r.status, r, [body]
    while True:
        line = r.fp.readline() if stop_after is not None else r.readline()
        if not line:
            break
        line = line.decode().rstrip('\r\n')
        if not line.startswith('data: '):
            continue
        data = line[6:]
        events.append(data if data == '[DONE]' else json.loads(data))
        if stop_after is not None and len(events) >= stop_after:
            c.sock.shutdown(socket.SHUT_RDWR)
            break
    c.close()
    return 200, r, events


def cli_json(*args):
    r = subprocess.run([EXE] + list(args) + ['--json'], capture_output=True, text=True, env=ENV, timeout=120)
    return json.loads(r.stdout) if r.returncode == 0 else r.stderr


def wait_until(pred, secs):
    t0 = time.time()
    while time.time() - t0 < secs:
        if pred():
            return True
        time.sleep(0.05)
    return False


def running(server):
    return server.get('/health')[1]['running']


# ---- the endpoints --------------------------------------------------------------

def endpoints(s):
    st, h, _ = s.get('/health')
    check(st == 200 and h['status'] == 'ok' and h['workers'] == 2 and h['model'] == 'llada-tiny', 'GET /health', h)
    st, m, _ = s.get('/v1/models')
    check(st == 200 and m['object'] == 'list' and m['data'][0]['id'] == 'llada-tiny' and
          m['data'][0]['vocab_size'] == 2048, 'GET /v1/models', m)

    text = 'the cat sat on the mat'
    cli_ids = subprocess.run([EXE, 'tokenize', MODEL, text], capture_output=True, text=True, env=ENV).stdout.strip()
    st, t, _ = s.post('/tokenize', {'text': text, 'with_pieces': True})
    check(st == 200 and ','.join(map(str, t['tokens'])) == cli_ids and len(t['pieces']) == len(t['tokens']),
          'POST /tokenize equals textdiff tokenize', (t, cli_ids))
    st, t2, _ = s.post('/tokenize', {'text': text, 'add_special': False})
    check(st == 200 and t2['tokens'] == t['tokens'][1:], 'POST /tokenize add_special false drops BOS', t2)
    st, d, _ = s.post('/detokenize', {'tokens': t['tokens']})
    check(st == 200 and d['text'] == text, 'POST /detokenize round-trips', d)

    settings = ['-n', '16', '--steps', '8', '--seed', '7', '--temperature', '0.8', '--remask', 'entropy']
    cli = cli_json('generate', MODEL, '-p', 'the cat', *settings)
    req = {'prompt': 'the cat', 'max_tokens': 16, 'steps': 8, 'seed': 7, 'temperature': 0.8, 'remasking': 'entropy'}
    st, r, _ = s.post('/v1/completions', req)
    ok = st == 200 and isinstance(cli, dict) and r['choices'][0]['tokens'] == cli['tokens'] and \
        r['choices'][0]['text'] == cli['text'] and r['object'] == 'text_completion'
    check(ok, 'POST /v1/completions equals textdiff generate --json (seeded, sampled)', (r, cli))
    check(st == 200 and r['usage']['completion_tokens'] == len(cli['tokens']) and r['usage']['prompt_tokens'] > 0
          and r['timings']['steps'] == 8, 'usage and timings', r)
    ids = s.post('/tokenize', {'text': 'the cat'})[1]['tokens']
    st, r2, _ = s.post('/v1/completions', dict(req, prompt=ids))
    check(st == 200 and r2['choices'][0]['tokens'] == r['choices'][0]['tokens'], 'prompt as token ids', r2)
    st, r3, _ = s.post('/v1/completions', dict(req, strategy=1, remasking=4))
    check(st == 200 and r3['choices'][0]['tokens'] == r['choices'][0]['tokens'],
          'strategy and remasking by number equal by name', r3)
    stop = r['choices'][0]['text'][3:5]
    st, r4, _ = s.post('/v1/completions', dict(req, stop=[stop]))
    check(st == 200 and r4['choices'][0]['text'] == r['choices'][0]['text'][:r['choices'][0]['text'].find(stop)]
          and r4['choices'][0]['finish_reason'] == 'stop', 'stop strings cut the text', r4)

    cli = cli_json('infill', MODEL, 'the [MASK:3] sat on the [MASK:2].', '--steps', '5', '--seed', '3')
    st, f, _ = s.post('/infill', {'text': 'the [MASK:3] sat on the [MASK:2].', 'steps': 5, 'seed': 3})
    check(st == 200 and isinstance(cli, dict) and f['choices'][0]['tokens'] == cli['tokens'] and
          f['choices'][0]['text'] == cli['text'] and len(f['choices'][0]['fills']) == 2,
          'POST /infill equals textdiff infill --json', (f, cli))
    st, g, _ = s.post('/infill', {'segments': ['the ', 3, ' sat on the ', 2, '.'], 'steps': 5, 'seed': 3})
    check(st == 200 and g['choices'][0]['tokens'] == f['choices'][0]['tokens'], 'POST /infill segments', g)

    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as tf:
        tf.write(text)
    try:
        cli = cli_json('score', MODEL, tf.name, '--samples', '8', '--seed', '2')
    finally:
        os.unlink(tf.name)
    st, sc, _ = s.post('/score', {'text': text, 'samples': 8, 'seed': 2})
    check(st == 200 and isinstance(cli, dict) and sc['tokens'] == cli['tokens'] and
          abs(sc['nelbo_nats_per_token'] - cli['nelbo_nats_per_token']) < 1e-5, 'POST /score equals textdiff score',
          (sc, cli))

    st, metrics, _ = s.get('/metrics')
    want = ['textdiff_requests_total{endpoint="/v1/completions",code="2xx"}', 'textdiff_queue_depth 0',
            'textdiff_forward_passes_total', 'textdiff_request_duration_seconds_bucket{le="+Inf"}',
            'textdiff_completion_tokens_total']
    check(st == 200 and all(w in metrics for w in want), 'GET /metrics (Prometheus text)', metrics[:400])


def streaming(s):
    req = {'prompt': 'the cat', 'max_tokens': 12, 'steps': 6, 'seed': 5, 'temperature': 0.5, 'stream': True}
    st, r, ev = sse(s, '/v1/completions', req)
    check(st == 200 and r.getheader('Content-Type') == 'text/event-stream', 'stream: text/event-stream', st)
    steps = [e for e in ev if isinstance(e, dict) and e.get('object') == 'text_completion.step']
    final = [e for e in ev if isinstance(e, dict) and e.get('object') == 'text_completion']
    check(len(steps) == 6 and [e['step'] for e in steps] == list(range(1, 7)), 'stream: one event per step',
          [e.get('step') for e in steps])
    check(all(e['changed'] for e in steps) and steps[-1]['masked'] == 0 and
          all(a['masked'] > b['masked'] for a, b in zip(steps, steps[1:])),
          'stream: each step names the positions it changed; masks go down to 0', steps)
    plain = s.post('/v1/completions', dict(req, stream=False))[1]
    check(len(final) == 1 and final[0]['choices'][0]['tokens'] == plain['choices'][0]['tokens'] and ev[-1] == '[DONE]',
          'stream: the final message equals the plain answer, then [DONE]', ev[-2:])
    canvas = [None] * 12
    for e in steps:
        for c in e['changed']:
            canvas[c['position']] = c['token']
    check(canvas == plain['choices'][0]['tokens'], 'stream: the changes rebuild the generated tokens', canvas)
    st, _, ev = sse(s, '/infill', {'text': 'a [MASK:4] b', 'steps': 4, 'stream': True})
    check(st == 200 and ev[-1] == '[DONE]' and ev[-2]['object'] == 'infill' and
          sum(1 for e in ev if isinstance(e, dict) and e.get('object') == 'text_completion.step') == 4,
          'stream: /infill', ev[-2:])
    st, _, ev = sse(s, '/v1/completions', {'prompt': 'x', 'steps': 0, 'stream': True})
    check(st == 400 and 'steps' in ev[0]['error']['message'], 'stream: a bad request is a plain 400', ev)


def disconnect(s):
    """A client that goes away mid-stream cancels its generation; the server keeps serving."""
    long_req = {'prompt': 'the cat', 'max_tokens': 512, 'steps': 512, 'stream': True}
    t0 = time.time()
    st, _, ev = sse(s, '/v1/completions', long_req, stop_after=2)
    check(st == 200 and len(ev) == 2, 'disconnect: two events, then the client closes', ev[:1])
    freed = wait_until(lambda: running(s) == 0, 20)
    check(freed, 'disconnect: the worker is free again (%.1f s after the start)' % (time.time() - t0))
    metrics = s.get('/metrics')[1]
    m = re.search(r'^textdiff_cancelled_total (\d+)', metrics, re.M)
    check(m and int(m.group(1)) >= 1, 'disconnect: counted in textdiff_cancelled_total', metrics[-300:])
    st, r, _ = s.post('/v1/completions', {'prompt': 'the cat', 'max_tokens': 8, 'steps': 4})
    check(st == 200, 'disconnect: the server keeps serving', r)
    # a plain (non-streaming) client that leaves also cancels
    c = http.client.HTTPConnection('127.0.0.1', s.port, timeout=30)
    c.request('POST', '/v1/completions', body=json.dumps(dict(long_req, stream=False)).encode())
    wait_until(lambda: running(s) == 1, 10)
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    check(wait_until(lambda: running(s) == 0, 20), 'disconnect: a plain request is cancelled too')


def bad_requests(s):
    cases = [
        ('/v1/completions', b'{"prompt": "x",', 400, 'line 1'),
        ('/v1/completions', b'[1, 2]', 400, 'JSON object'),
        ('/v1/completions', b'{"prompt": "x", "stepz": 3}', 400, 'stepz'),
        ('/v1/completions', b'{"prompt": "x", "steps": "many"}', 400, 'steps'),
        ('/v1/completions', b'{"prompt": "x", "steps": 1e9}', 400, 'steps'),
        ('/v1/completions', b'{"prompt": "x", "temperature": -1}', 400, 'temperature'),
        ('/v1/completions', b'{"prompt": "x", "strategy": "nope"}', 400, 'strategy'),
        ('/v1/completions', b'{"prompt": "x", "n_threads": 8}', 400, 'n_threads'),
        ('/v1/completions', b'{"prompt": "x", "stat_steps": 8}', 400, 'read-only'),
        ('/v1/completions', b'{"prompt": "x", "n": 2}', 400, 'n:'),
        ('/v1/completions', b'{"prompt": "x", "prompt": "y"}', 400, 'duplicate'),
        ('/v1/completions', b'{"steps": 4}', 400, 'prompt'),
        ('/v1/completions', b'{"prompt": [1, 99999]}', 400, 'prompt'),
        ('/v1/completions', b'{"prompt": "x", "max_tokens": 5000}', 400, 'max_tokens'),
        ('/infill', b'{"text": "no holes"}', 400, 'hole'),
        ('/infill', b'{"text": "bad [MASK:x] hole"}', 400, 'hole'),
        ('/infill', b'{"text": "a [MASK:2]", "segments": ["a", 2]}', 400, 'either'),
        ('/score', b'{"text": ""}', 400, 'no tokens'),
        ('/score', b'{"text": "x", "samples": 0}', 400, 'samples'),
        ('/tokenize', b'{"txt": "x"}', 400, 'txt'),
        ('/detokenize', b'{"tokens": [-1]}', 400, 'tokens'),
    ]
    for path, body, want, needle in cases:
        st, r, _ = s.post(path, body)
        msg = r.get('error', {}).get('message', '') if isinstance(r, dict) else ''
        check(st == want and needle in msg, '400: %s %s' % (path, body.decode()[:50]), (st, r))
    st, r, _ = s.get('/nowhere')
    check(st == 404 and r['error']['type'] == 'not_found', '404 for an unknown path', r)
    st, r, resp = s.get('/v1/completions')
    check(st == 405 and resp.getheader('Allow') == 'POST', '405 with Allow for a wrong method', r)
    st, r, _ = s.get('/../../etc/passwd')
    check(st == 404, 'a path never reaches the file system', r)
    st, r, _ = s.post('/v1/completions', b'{"prompt": "' + b'a' * 70000 + b'"}')
    check(st == 413, '413 for a body over --max-body', r)


def fuzz(s):
    """Malformed bodies on every POST endpoint, and raw garbage: 4xx JSON, never 5xx, never a dead server."""
    rng = random.Random(20)
    good = [b'{"prompt": "the cat", "max_tokens": 4, "steps": 2}', b'{"text": "a [MASK:2] b", "steps": 2}',
            b'{"text": "the cat", "samples": 2}', b'{"tokens": [1, 2, 3]}']
    values = [b'null', b'true', b'-1', b'1e308', b'-0', b'"\\u0000"', b'"\\ud800"', b'[]', b'{}', b'[[[[[]]]]]',
              b'99999999999999999999', b'0.5', b'"' + b'[MASK:' * 50 + b'"']
    keys = [b'prompt', b'text', b'tokens', b'segments', b'steps', b'gen_length', b'seed', b'strategy', b'stream',
            b'stop', b'temperature', b'top_p', b'block_length', b'samples', b'window', b'graph', b'remasking']
    bodies = []
    for g in good:
        for _ in range(6):
            b = bytearray(g)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            bodies.append(bytes(b))
        bodies.append(g[:rng.randrange(1, len(g))])
    for _ in range(40):
        bodies.append(b'{"' + rng.choice(keys) + b'": ' + rng.choice(values) + b', "' + rng.choice(keys) + b'": ' +
                      rng.choice(values) + b'}')
    bodies += [b'', b'\x00' * 10, b'[' * 5000 + b']' * 5000, bytes(rng.randrange(256) for _ in range(300))]
    bad = []
    for body in bodies:
        for path in ('/v1/completions', '/infill', '/score', '/tokenize', '/detokenize'):
            try:
                st, r, _ = s.post(path, body, timeout=60)
            except Exception as e:  # a dropped connection is a failure
                bad.append((path, body[:60], repr(e)))
                continue
            if st >= 500 or (st >= 400 and not (isinstance(r, dict) and r.get('error', {}).get('message'))):
                bad.append((path, body[:60], st, r))
    check(not bad, 'fuzz: %d malformed bodies x 5 endpoints answer 2xx or a 4xx JSON error' % len(bodies), bad[:5])
    for junk in (b'GARBAGE\r\n\r\n', b'GET / HTTP/9.9\r\n\r\n', b'POST /score HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
                 b'GET /health HTTP/1.1\r\n' + b'X: ' + b'a' * 100000 + b'\r\n\r\n', b'\x16\x03\x01\x00\xa5'):
        try:
            with socket.create_connection(('127.0.0.1', s.port), timeout=10) as k:
                k.sendall(junk)
                k.shutdown(socket.SHUT_WR)
                while k.recv(65536):
                    pass
        except OSError:
            pass
    st, h, _ = s.get('/health')
    check(st == 200 and h['status'] == 'ok', 'fuzz: raw garbage on the socket leaves the server serving', h)


def concurrent(s):
    reqs = [{'prompt': 'the cat', 'max_tokens': 16, 'steps': 8, 'seed': k, 'temperature': 1.0} for k in range(6)]
    alone = [s.post('/v1/completions', r)[1]['choices'][0]['tokens'] for r in reqs]
    out = [None] * len(reqs)

    def go(k):
        st, r, _ = s.post('/v1/completions', reqs[k])
        out[k] = r['choices'][0]['tokens'] if st == 200 else (st, r)

    threads = [threading.Thread(target=go, args=(k,)) for k in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(out == alone, '6 concurrent requests on 2 workers answer as each alone', (out, alone))


BATCH_REQS = [
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 1, 'temperature': 1.0}),
    ('/v1/completions', {'prompt': 'a dog ran', 'max_tokens': 24, 'steps': 16, 'seed': 2, 'temperature': 0.8,
                         'remasking': 'entropy', 'strategy': 'dream'}),
    ('/v1/completions', {'prompt': 'the', 'max_tokens': 16, 'steps': 16, 'seed': 3, 'temperature': 0.7,
                         'block_length': 8}),
    ('/v1/completions', {'prompt': 'she said', 'max_tokens': 16, 'steps': 16, 'seed': 4, 'strategy': 'threshold'}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 5, 'temperature': 1.0,
                         'strategy': 'maskgit'}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 6, 'strategy': 'mdlm'}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 7, 'temperature': 0.9,
                         'cfg_scale': 1.5}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 8, 'cache': 2}),  # dual
    ('/infill', {'text': 'the [MASK:6] sat on the [MASK:5].', 'steps': 12, 'seed': 9, 'temperature': 0.6}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 16, 'seed': 10, 'temperature': 1.0,
                         'stream': True}),
    ('/v1/completions', {'prompt': 'the cat', 'max_tokens': 16, 'steps': 4, 'seed': 11, 'strategy': 'bd3',
                         'block_length': 8, 'temperature': 1.0}),
    ('/v1/completions', {'prompt': 'a dog', 'max_tokens': 16, 'seed': 12, 'strategy': 'bd3_first_hitting',
                         'block_length': 8}),
]


def batching(plain):
    """--batch: concurrent requests (different strategies, lengths, seeds; one with a KV cache, which runs
    unbatched) answer exactly as the unbatched server answers each alone, and they did share forwards."""
    def tokens(srv, path, req):
        if req.get('stream'):
            st, _, ev = sse(srv, path, req)
            fin = [e for e in ev if isinstance(e, dict) and e.get('object') == 'text_completion']
            return fin[-1]['choices'][0]['tokens'] if st == 200 and fin else (st, ev[-3:])
        st, r, _ = srv.post(path, req)
        return r['choices'][0]['tokens'] if st == 200 else (st, r)

    alone = [tokens(plain, p, r) for p, r in BATCH_REQS]
    check(all(isinstance(a, list) for a in alone), 'batch: every reference request answers unbatched', alone)
    s = Server('--parallel', '4', '--max-queue', '16', '--batch')
    try:
        for rnd in range(2):
            out = [None] * len(BATCH_REQS)

            def go(k):
                out[k] = tokens(s, *BATCH_REQS[k])

            threads = [threading.Thread(target=go, args=(k,)) for k in range(len(BATCH_REQS))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            bad = [(k, out[k], alone[k]) for k in range(len(out)) if out[k] != alone[k]]
            check(not bad, 'batch: %d concurrent requests on 4 batched workers answer as each alone unbatched (%d)'
                  % (len(out), rnd + 1), bad)
        # a client leaving mid-stream in a batch: the others finish, nothing is left running
        out = [None] * 3

        def go2(k):
            out[k] = tokens(s, *BATCH_REQS[k])

        threads = [threading.Thread(target=go2, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        c = socket.create_connection(('127.0.0.1', s.port))
        body = json.dumps(dict(BATCH_REQS[9][1], steps=64, max_tokens=64)).encode()
        c.sendall(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n' % len(body) + body)
        c.recv(256)
        c.close()
        for t in threads:
            t.join()
        check(out == alone[:3], 'batch: requests beside a client that leaves mid-stream answer as alone', out)
        health = None
        for _ in range(100):
            st, health, _ = s.get('/health')
            if health.get('running') == 0:
                break
            time.sleep(0.05)
        check(health.get('running') == 0 and health.get('queued') == 0, 'batch: nothing left running', health)
        st, m, _ = s.request('GET', '/metrics')
        text = m if isinstance(m, str) else m.decode() if isinstance(m, bytes) else str(m)
        fw = re.search(r'textdiff_batch_forwards_total (\d+)', text)
        sq = re.search(r'textdiff_batch_sequences_total (\d+)', text)
        check(fw and sq and int(sq.group(1)) > int(fw.group(1)) > 0,
              'batch: /metrics shows forwards that carried several requests',
              (fw and fw.group(0), sq and sq.group(0)))
    finally:
        rc, log = s.stop()
    check(rc == 0 and 'stopped' in log and 'batched' in log, 'batch: SIGTERM: exit 0', log[-2000:])


def overload_and_key():
    s = Server('--parallel', '1', '--max-queue', '0', '--api-key', 's3cret')
    key = {'Authorization': 'Bearer s3cret'}
    try:
        st, r, resp = s.post('/v1/completions', {'prompt': 'x', 'max_tokens': 4, 'steps': 2})
        check(st == 401 and resp.getheader('WWW-Authenticate') == 'Bearer', '401 without the API key', r)
        st, r, _ = s.post('/v1/completions', {'prompt': 'x', 'max_tokens': 4, 'steps': 2},
                          headers={'Authorization': 'Bearer s3cres'})
        check(st == 401, '401 with a wrong key', r)
        st, r, _ = s.get('/metrics', headers={'Authorization': 'Bearer s3cret0'})
        check(st == 401, '401 with a longer key', r)
        st, r, _ = s.post('/v1/completions', {'prompt': 'x', 'max_tokens': 4, 'steps': 2}, headers=key)
        check(st == 200, '200 with Authorization: Bearer', r)
        st, r, _ = s.post('/tokenize', {'text': 'x'}, headers={'X-API-Key': 's3cret'})
        check(st == 200, '200 with X-API-Key', r)
        check(s.get('/health')[0] == 200, '/health needs no key (load balancer probes)')

        # one worker, no queue: a second request while the first runs gets 503 + Retry-After
        c = http.client.HTTPConnection('127.0.0.1', s.port, timeout=60)
        c.request('POST', '/v1/completions', headers=key,
                  body=json.dumps({'prompt': 'the cat', 'max_tokens': 512, 'steps': 512, 'stream': True}).encode())
        first = c.getresponse()
        first.fp.readline()  # the first event: it runs
        st, r, resp = s.post('/v1/completions', {'prompt': 'x', 'max_tokens': 4, 'steps': 2}, headers=key)
        check(st == 503 and (resp.getheader('Retry-After') or '').isdigit() and r['error']['type'] == 'overloaded',
              '503 + Retry-After when every worker is busy and the queue is full', (st, r, resp.getheaders()))
        st, r, _ = s.post('/score', {'text': 'the cat'}, headers=key)
        check(st == 503, '503 for /score too', r)
        st, r, _ = s.post('/tokenize', {'text': 'x'}, headers=key)
        check(st == 200, 'tokenize is not queued: it answers under overload', r)
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        check(wait_until(lambda: s.get('/health')[1]['running'] == 0, 20), 'overload: the stream is cancelled')
        st, r, _ = s.post('/v1/completions', {'prompt': 'x', 'max_tokens': 4, 'steps': 2}, headers=key)
        check(st == 200, 'after the overload: 200 again', r)
        metrics = s.get('/metrics', headers=key)[1]
        check('textdiff_requests_total{endpoint="/v1/completions",code="503"} 1' in metrics and
              'textdiff_requests_total{endpoint="/v1/completions",code="401"} 2' in metrics,
              'metrics count the 503 and the 401', metrics[:600])
    finally:
        rc, log = s.stop()
    check(rc == 0, 'second server stops on SIGTERM', log)


def timeout_and_sigterm():
    s = Server('--timeout', '1', '--parallel', '1', '--grace', '60')
    try:
        t0 = time.time()
        st, r, _ = s.post('/v1/completions', {'prompt': 'the cat', 'max_tokens': 512, 'steps': 512})
        check(st == 504 and r['error']['type'] == 'timeout' and time.time() - t0 < 15,
              '504 past --timeout (%.1f s)' % (time.time() - t0), r)
        st, r, _ = s.post('/v1/completions', {'prompt': 'the cat', 'max_tokens': 8, 'steps': 4})
        check(st == 200, 'after a timeout: 200 again', r)
    finally:
        s.stop()

    s = Server('--parallel', '1', '--grace', '120')
    result = {}

    def go():
        result['r'] = s.post('/v1/completions', {'prompt': 'the cat', 'max_tokens': 128, 'steps': 64}, timeout=300)

    t = threading.Thread(target=go)
    t.start()
    wait_until(lambda: running(s) == 1, 20)
    s.proc.send_signal(signal.SIGTERM)
    t.join(300)
    rc, log = s.stop(timeout=180)
    st = result.get('r', (None,))[0]
    check(st == 200 and len(result['r'][1]['choices'][0]['tokens']) > 0,
          'SIGTERM: the running request still finishes', result.get('r'))
    check(rc == 0 and 'stopped' in log, 'SIGTERM: exit 0 after the drain', (rc, log))


def docs_example(s):
    """docs/server.md's Python client runs as written (the port swapped for this server's)."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'server.md')
    m = re.search(r'```python\n(.*?)```', open(doc).read(), re.S)
    code = m.group(1).replace('8080', str(s.port)) if m else ''
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, timeout=120)
    check(m and r.returncode == 0 and r.stdout.count(b'\r') == 16 + 1,  # 16 steps, then the final text
          "docs/server.md's Python client runs", (r.stdout + r.stderr).decode('utf-8', 'replace'))


def autoregressive():
    """A llama file (no mask token, tests/parity/data): ar is its default strategy, greedy output equals the
    reference decoding (ar_greedy.txt), streams one token a step; /infill and /score refuse with a reason."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity', 'data')
    model = os.path.join(data, 'ar-llama-f32.gguf')
    with open(os.path.join(data, 'ar_greedy.txt')) as f:
        line = next(ln for ln in f if ln.startswith('ar-llama-f32.gguf '))
    head, prompt, expect = line.split(':')
    s = Server('--model', model)
    try:
        req = {'prompt': [int(t) for t in prompt.split()], 'max_tokens': int(head.split()[1])}
        st, r, _ = s.post('/v1/completions', req)
        check(st == 200 and r['choices'][0]['tokens'] == [int(t) for t in expect.split()],
              'autoregressive model: ar by default, greedy = the reference decoding', r)
        st, _, ev = sse(s, '/v1/completions', dict(req, max_tokens=4, stream=True))
        steps = [e for e in ev if isinstance(e, dict) and e.get('object') == 'text_completion.step']
        check(st == 200 and len(steps) == 4 and all(len(e['changed']) == 1 for e in steps) and
              [e['masked'] for e in steps] == [3, 2, 1, 0], 'autoregressive model: a stream has one token a step',
              steps)
        st, r, _ = s.post('/infill', {'segments': ['a', 2]})
        check(st == 400 and 'masked diffusion' in r['error']['message'], 'autoregressive model: /infill is a 400', r)
        st, r, _ = s.post('/score', {'text': 'abc'})
        check(st == 400 and 'masked diffusion' in r['error']['message'], 'autoregressive model: /score is a 400', r)
        st, r, _ = s.post('/v1/completions', dict(req, strategy='llada'))
        check(st == 400 and 'ar strategy' in r['error']['message'], 'autoregressive model: llada is a 400', r)
    finally:
        rc, log = s.stop()
    check(rc == 0, 'autoregressive model: the server stops', log)


def main():
    s = Server('--parallel', '2', '--max-queue', '4', '--max-body', '65536')
    try:
        endpoints(s)
        docs_example(s)
        streaming(s)
        disconnect(s)
        bad_requests(s)
        fuzz(s)
        concurrent(s)
        batching(s)
        st, h, _ = s.get('/health')
        check(st == 200 and h['running'] == 0 and h['queued'] == 0, 'nothing left running', h)
    finally:
        rc, log = s.stop()
    check(rc == 0 and 'stopped' in log, 'SIGTERM: exit 0', log[-2000:])
    overload_and_key()
    timeout_and_sigterm()
    autoregressive()
    n = sum(1 for _ in failures)
    print('serve: %d failed' % n if n else 'serve: all passed')
    return 1 if n else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""load.py -- a closed-loop load generator for `textdiff serve` (Python standard library only).

N client threads each send one request, wait for the whole answer, and send the next, for
--seconds. Prints one line per run: clients, requests done, failures (any status but 200, or a
broken connection; 503s counted apart), requests/s, generated tokens/s, p50/p99 latency.

  python3 bench/serve/load.py --port 8080 --clients 1 4 8 --seconds 30 \\
      --body '{"prompt": "Emma Woodhouse,", "max_tokens": 32, "steps": 32, "temperature": 0.7}'

--stream reads the answers as Server-Sent Events; --disconnect P makes each streaming request,
with probability P, close its connection after the first step event (a client that goes away),
which a soak run uses to check that nothing is lost or left running (docs/server.md).
"""
import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time


def one(args, body, rng):
    """(status, completion tokens, disconnected)"""
    c = http.client.HTTPConnection(args.host, args.port, timeout=args.request_timeout)
    try:
        data = dict(body, stream=True) if args.stream else body
        if 'seed' not in data:
            data = dict(data, seed=rng.randrange(1 << 31))
        c.request('POST', args.path, body=json.dumps(data).encode(), headers={'Content-Type': 'application/json'})
        r = c.getresponse()
        if r.status != 200:
            r.read()
            return r.status, 0, False
        if not args.stream:
            return 200, json.loads(r.read())['usage']['completion_tokens'], False
        leave = rng.random() < args.disconnect
        final = None
        while True:
            line = r.fp.readline() if leave else r.readline()
            if not line:
                break
            if not line.startswith(b'data: '):
                continue
            ev = line[6:].strip()
            if ev == b'[DONE]':
                break
            obj = json.loads(ev)
            if leave:
                c.sock.shutdown(socket.SHUT_RDWR)
                return 200, 0, True
            if obj.get('object') in ('text_completion', 'infill'):
                final = obj
        if final is None:
            return -1, 0, False
        return 200, final['usage']['completion_tokens'], False
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return -1, 0, False
    finally:
        c.close()


def run(args, body, clients):
    stop = time.monotonic() + args.seconds
    lock = threading.Lock()
    lat, fails, busy, tokens, left = [], [0], [0], [0], [0]

    def client(k):
        rng = random.Random(k)
        while time.monotonic() < stop:
            t0 = time.monotonic()
            st, n, gone = one(args, body, rng)
            dt = time.monotonic() - t0
            with lock:
                if st == 200 and gone:
                    left[0] += 1
                elif st == 200:
                    lat.append(dt)
                    tokens[0] += n
                elif st == 503:
                    busy[0] += 1
                else:
                    fails[0] += 1
            if st == 503:
                time.sleep(0.05)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float('nan')

    print('clients %2d  done %5d  failed %d  503 %d  left %d  %.2f req/s  %.1f tok/s  p50 %.3f s  p99 %.3f s'
          % (clients, len(lat), fails[0], busy[0], left[0], len(lat) / wall, tokens[0] / wall, pct(0.5), pct(0.99)),
          flush=True)
    return fails[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--path', default='/v1/completions')
    ap.add_argument('--clients', type=int, nargs='+', default=[1, 4, 8])
    ap.add_argument('--seconds', type=float, default=30)
    ap.add_argument('--body', default='{"prompt": "Emma Woodhouse,", "max_tokens": 32, "steps": 32}')
    ap.add_argument('--stream', action='store_true')
    ap.add_argument('--disconnect', type=float, default=0.0)
    ap.add_argument('--request-timeout', type=float, default=600)
    args = ap.parse_args()
    body = json.loads(args.body)
    failed = sum(run(args, body, n) for n in args.clients)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

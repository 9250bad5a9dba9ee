#!/usr/bin/env python3
"""check_balancer.py TEXTDIFF MODEL [NGINX] [--replicas N] [--load SECONDS] -- `textdiff serve` scaled out:
N replicas on loopback behind nginx (docs/server.md, "Several replicas behind nginx").

Writes the nginx configuration of docs/server.md into a temporary prefix, starts the replicas and nginx
(unprivileged paths, no daemon, nothing outside the prefix), then checks through the balancer: /health,
requests spread over every replica, a stream arrives step by step (not buffered to the end), a client that
leaves mid-stream cancels the generation on its replica, a replica killed with SIGKILL is skipped (the next
requests still answer 200). --load S adds, before that kill, bench/serve/load.py's closed loop of 8
clients for S seconds through nginx (0 failed expected). Python standard library only; exit 1 on any failure."""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

failures = []


def check(ok, what, detail=''):
    print('%-4s %s' % ('ok' if ok else 'FAIL', what), flush=True)
    if not ok:
        failures.append(what)
        if detail:
            print('     ' + str(detail).replace('\n', '\n     '), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


NGINX_CONF = '''# docs/server.md: N textdiff serve replicas behind nginx on loopback.
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 1m;
    client_body_buffer_size 1m;            # request bodies stay in memory
    upstream textdiff {{
        least_conn;                        # the replica with the fewest open requests
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://textdiff;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;           # Server-Sent Events pass through as they come
            proxy_read_timeout 600s;       # a step of a large model may take long
            proxy_next_upstream error timeout;   # a dead replica: try the next (connect errors only for POST)
        }}
    }}
}}
'''


def request(port, method, path, body=None, timeout=120):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('textdiff')
    ap.add_argument('model')
    ap.add_argument('nginx', nargs='?', default=shutil.which('nginx') or '/usr/sbin/nginx')
    ap.add_argument('--replicas', type=int, default=3)
    ap.add_argument('--load', type=float, default=0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='textdiff-balancer-')
    os.chmod(tmp, 0o755)  # nginx's workers may run as another user
    procs, ports = [], []
    nginx = None
    try:
        for k in range(args.replicas):
            ports.append(free_port())
            log = open(os.path.join(tmp, 'replica%d.log' % k), 'w')
            procs.append(subprocess.Popen([args.textdiff, 'serve', args.model, '--port', str(ports[-1]),
                                           '--parallel', '1', '--max-queue', '8'], stderr=log,
                                          stdout=subprocess.DEVNULL))
        port = free_port()
        servers = '\n'.join('        server 127.0.0.1:%d max_fails=1 fail_timeout=10s;' % p for p in ports)
        conf = os.path.join(tmp, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(dir=tmp, servers=servers, port=port))
        nginx = subprocess.Popen([args.nginx, '-p', tmp, '-c', conf, '-e', os.path.join(tmp, 'error.log')],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while time.time() - t0 < 20:
            try:
                if all(request(p, 'GET', '/health', timeout=2)[0] == 200 for p in ports + [port]):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        st, h = request(port, 'GET', '/health')
        check(st == 200 and h['status'] == 'ok', 'GET /health through nginx', h)
        ctx = request(port, 'GET', '/v1/models')[1]['data'][0]['context_length'] or 4096
        long_len = min(1024, ctx - 16)  # the longest canvas after a short prompt

        # spread: concurrent requests reach every replica (least_conn)
        body = {'prompt': 'the cat', 'max_tokens': 64, 'steps': 32}
        threads = [threading.Thread(target=request, args=(port, 'POST', '/v1/completions', body))
                   for _ in range(2 * args.replicas)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        served = []
        for p in ports:
            m = request(p, 'GET', '/metrics')[1].decode()
            n = re.search(r'textdiff_requests_total\{endpoint="/v1/completions",code="2xx"\} (\d+)', m)
            served.append(int(n.group(1)) if n else 0)
        check(all(n > 0 for n in served) and sum(served) == 2 * args.replicas,
              'requests spread over every replica %s' % served)

        # streaming passes through unbuffered: the first step arrives long before the end
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
        t0 = time.time()
        steps = min(64, long_len // 4)
        c.request('POST', '/v1/completions', body=json.dumps({'prompt': 'the cat', 'max_tokens': long_len // 4,
                                                              'steps': steps, 'stream': True}).encode())
        r = c.getresponse()
        first = None
        n_events = 0
        for line in r:
            if line.startswith(b'data: '):
                n_events += 1
                first = first or time.time() - t0
        total = time.time() - t0
        c.close()
        check(r.getheader('Content-Type') == 'text/event-stream' and n_events == steps + 2 and first < total / 4,
              'a stream through nginx arrives step by step (first event %.2f s, end %.2f s)' % (first or -1, total))

        # a client that leaves through nginx cancels on the replica
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
        c.request('POST', '/v1/completions', body=json.dumps({'prompt': 'the cat', 'max_tokens': long_len,
                                                              'steps': long_len, 'stream': True}).encode())
        r = c.getresponse()
        r.fp.readline()
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()

        def idle():
            return all(request(p, 'GET', '/health')[1]['running'] == 0 for p in ports)
        t0 = time.time()
        while time.time() - t0 < 30 and not idle():
            time.sleep(0.1)
        cancelled = sum(int(re.search(r'^textdiff_cancelled_total (\d+)', request(p, 'GET', '/metrics')[1].decode(),
                                      re.M).group(1)) for p in ports)
        check(idle() and cancelled >= 1, 'a client leaving nginx cancels on its replica (%.1f s)' % (time.time() - t0))

        if args.load:
            here = os.path.dirname(os.path.abspath(__file__))
            load = os.path.join(here, '..', '..', 'bench', 'serve', 'load.py')
            r = subprocess.run([sys.executable, load, '--port', str(port), '--clients', '8', '--seconds',
                                str(args.load), '--body', '{"prompt": "Emma Woodhouse,", "max_tokens": 32, "steps": '
                                '32, "temperature": 0.7}'], capture_output=True, text=True)
            print(r.stdout, end='')
            check(r.returncode == 0, 'load through nginx: no failed request', r.stderr)
        # a dead replica is skipped
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        codes = [request(port, 'POST', '/v1/completions', {'prompt': 'x', 'max_tokens': 8, 'steps': 4})[0]
                 for _ in range(2 * args.replicas)]
        check(codes == [200] * len(codes), 'a replica killed with SIGKILL: every request still answers 200', codes)

    finally:
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print('balancer: %d failed' % len(failures) if failures else 'balancer: all passed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

"""A third-party REST Greeter written with Flask: POST /api/hello {"name": ...} answers
{"message": "Hello, <name>!"} (plus a field the contract does not have, as real services do).

Usage: http_greeter_flask.py PORT
Serves on 127.0.0.1:PORT until killed or until stdin closes. GET /healthz answers "ok" once up.
Names that ask for something else: "slow" answers after 3 s (deadline tests), "fail" answers
503 with a JSON error of its own shape.
"""
import os
import sys
import threading
import time

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get('/healthz')
def healthz():
    return 'ok'


@app.post('/api/hello')
def hello():
    name = (request.get_json(silent=True) or {}).get('name', '')
    if name == 'slow':
        time.sleep(3)
    if name == 'fail':
        return jsonify(error='the greeter is resting'), 503
    response = jsonify(message=f'Hello, {name}!', served_by='flask')
    # What the caller sent, so the test can see its metadata and deadline arrived.
    response.headers['X-Saw-Timeout-Ms'] = request.headers.get('X-Timeout-Ms', '')
    response.headers['X-Saw-Who'] = request.headers.get('X-Who', '')
    return response


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


if __name__ == '__main__':
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    app.run(host='127.0.0.1', port=int(sys.argv[1]), threaded=True)

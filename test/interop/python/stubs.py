"""Generates Python gRPC stubs for a .proto at run time (grpc_tools.protoc into a temp dir).

google.api.http annotations only matter to the REST gateway; Python needs neither them nor
the google/api protos, so a copy of the file without them is compiled.
"""
import atexit
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
GREETER_PROTO = os.path.join(REPO, 'examples', 'greeter', 'greeter.proto')


def strip_http_annotations(source):
    """The proto text without `import "google/api/..."` and `option (google.api.http) = {...};`."""
    source = re.sub(r'^\s*import\s+"google/api/[^"]+";\s*$', '', source, flags=re.M)
    out = []
    i = 0
    marker = re.compile(r'option\s*\(\s*google\.api\.http\s*\)\s*=\s*\{')
    while True:
        m = marker.search(source, i)
        if not m:
            out.append(source[i:])
            break
        out.append(source[i:m.start()])
        depth = 1
        j = m.end()
        while depth and j < len(source):
            depth += {'{': 1, '}': -1}.get(source[j], 0)
            j += 1
        if source[j:j + 1] == ';':
            j += 1
        i = j
    return ''.join(out)


def load(proto_path=GREETER_PROTO):
    """Returns (messages module, services module) for the proto."""
    workdir = tempfile.mkdtemp(prefix='sb-pystubs-')
    atexit.register(shutil.rmtree, workdir, True)
    name = os.path.basename(proto_path)
    with open(proto_path, encoding='utf-8') as f:
        source = strip_http_annotations(f.read())
    with open(os.path.join(workdir, name), 'w', encoding='utf-8') as f:
        f.write(source)
    subprocess.run(
        [sys.executable, '-m', 'grpc_tools.protoc', '-I' + workdir,
         '--python_out=' + workdir, '--grpc_python_out=' + workdir, os.path.join(workdir, name)],
        check=True,
    )
    sys.path.insert(0, workdir)
    module = os.path.splitext(name)[0]
    return importlib.import_module(module + '_pb2'), importlib.import_module(module + '_pb2_grpc')

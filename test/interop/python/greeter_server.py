"""The reference Python server: a grpcio Greeter answering `Hello, <name>!`.

Usage: greeter_server.py [--port N] [--gzip]   (port 0 picks a free one)
Prints "LISTENING <port>" once serving; runs until killed or until stdin closes.
Names that ask for something else: "slow" answers after 3 s (for deadline tests), "fail"
aborts with FAILED_PRECONDITION and trailing metadata.
"""
import argparse
import sys
import threading
from concurrent import futures

import grpc

import stubs

greeter_pb2, greeter_pb2_grpc = stubs.load()


class Greeter(greeter_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        if request.name == 'slow':
            # Wakes early when the call ends first (cancelled, or its deadline passed).
            ended = threading.Event()
            context.add_callback(ended.set)
            ended.wait(3)
        if request.name == 'fail':
            context.set_trailing_metadata((('x-served-by', 'grpcio'),))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, 'Python says no ☃')
        who = dict(context.invocation_metadata()).get('x-who')
        if who:
            context.set_trailing_metadata((('x-who-was', who),))
        return greeter_pb2.Response(message=f'Hello, {request.name}!')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, default=50051)
    parser.add_argument('--gzip', action='store_true', help='compress responses')
    args = parser.parse_args()
    compression = grpc.Compression.Gzip if args.gzip else None
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), compression=compression)
    greeter_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = server.add_insecure_port(f'127.0.0.1:{args.port}')
    server.start()
    print(f'LISTENING {port}')
    sys.stdout.flush()
    # The parent closes our stdin (or kills us) to stop.
    sys.stdin.read()
    server.stop(0)


if __name__ == '__main__':
    main()

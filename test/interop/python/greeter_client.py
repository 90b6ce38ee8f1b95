"""The reference Python client: SayHello(Request(name='John')) and print the message.

Usage: greeter_client.py [--target host:port] [--name NAME] [--timeout SECONDS] [--gzip]
On an error status it prints "CODE_NAME: details" and exits with status 2.
"""
import argparse
import sys

import grpc

import stubs

greeter_pb2, greeter_pb2_grpc = stubs.load()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--target', default='localhost:50051')
    parser.add_argument('--name', default='John')
    parser.add_argument('--timeout', type=float, default=None)
    parser.add_argument('--gzip', action='store_true', help='compress the request')
    args = parser.parse_args()
    compression = grpc.Compression.Gzip if args.gzip else None
    with grpc.insecure_channel(args.target, compression=compression) as channel:
        stub = greeter_pb2_grpc.GreeterStub(channel)
        try:
            response = stub.SayHello(greeter_pb2.Request(name=args.name), timeout=args.timeout)
        except grpc.RpcError as err:
            print(f'{err.code().name}: {err.details()}')
            sys.stdout.flush()
            sys.exit(2)
    print(response.message)


if __name__ == '__main__':
    main()

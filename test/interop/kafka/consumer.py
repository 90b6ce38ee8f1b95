"""The reference kafka-python consumer: print the first message of topic 'hello'.

Usage: consumer.py [--bootstrap localhost:9092] [--topic hello] [--group hello-readers]
                   [--timeout SECONDS]
Joins the group with auto_offset_reset='earliest', prints the value of the first record and
its headers' names ("headers: a,b"), and exits; exits with status 2 when none came in time.
"""
import argparse
import sys

from kafka import KafkaConsumer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--bootstrap', default='localhost:9092')
    parser.add_argument('--topic', default='hello')
    parser.add_argument('--group', default='hello-readers')
    parser.add_argument('--timeout', type=float, default=30)
    args = parser.parse_args()
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap.split(','),
        group_id=args.group,
        auto_offset_reset='earliest',
        consumer_timeout_ms=int(args.timeout * 1000),
    )
    try:
        for message in consumer:
            print(message.value.decode('utf-8'), flush=True)
            print('headers: ' + ','.join(name for name, _ in message.headers), flush=True)
            consumer.commit()
            return
        print(f'no message on {args.topic} within {args.timeout} s', file=sys.stderr)
        sys.exit(2)
    finally:
        consumer.close()


if __name__ == '__main__':
    main()

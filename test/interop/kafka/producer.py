"""The reference kafka-python producer: send 'Hello, world!' to topic 'hello'.

Usage: producer.py [--bootstrap localhost:9092] [--topic hello] [--message 'Hello, world!']
Prints "sent <partition>/<offset>" once the broker acknowledged the record.
"""
import argparse

from kafka import KafkaProducer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--bootstrap', default='localhost:9092')
    parser.add_argument('--topic', default='hello')
    parser.add_argument('--message', default='Hello, world!')
    args = parser.parse_args()
    producer = KafkaProducer(bootstrap_servers=args.bootstrap.split(','), acks='all')
    metadata = producer.send(args.topic, args.message.encode('utf-8')).get(timeout=20)
    producer.flush()
    producer.close()
    print(f'sent {metadata.partition}/{metadata.offset}', flush=True)


if __name__ == '__main__':
    main()

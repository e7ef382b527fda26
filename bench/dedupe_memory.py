"""Redis bytes per tracked event_id in a dedupe set (``cp:{pN}:seen:<topic>:<day>``).

Usage: .venv/bin/python bench/dedupe_memory.py [--redis-url redis://127.0.0.1:6379/0]
Fills a scratch set with N ids of two typical shapes and prints MEMORY USAGE / N.
"""

from __future__ import annotations

import argparse
import uuid

import redis

SHAPES = {
    "uuid-like (40 chars)": lambda i: f"evt-{uuid.uuid4()}",
    "short (16 chars)": lambda i: f"ses-{i:012d}",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url)
    key = f"bench:dedupe:{uuid.uuid4().hex}"
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            for shape, make in SHAPES.items():
                client.delete(key)
                ids = [make(i) for i in range(size)]
                for start in range(0, size, 5000):
                    client.sadd(key, *ids[start : start + 5000])
                used = client.memory_usage(key, samples=0) or 0
                print(f"{size:>8} ids, {shape}: {used:>10} bytes, {used / size:.1f} B/event")
    finally:
        client.delete(key)


if __name__ == "__main__":
    main()

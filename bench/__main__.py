"""``python -m bench``: run every benchmark and update docs/benchmarks.md."""

from __future__ import annotations

from bench import broker_throughput
from bench.report import BENCHMARKS_MD, write_section


def main() -> None:
    result = broker_throughput.run()
    write_section("broker", "Embedded broker throughput", broker_throughput.markdown(result))
    print(broker_throughput.markdown(result))
    print(f"written to {BENCHMARKS_MD}")


if __name__ == "__main__":
    main()

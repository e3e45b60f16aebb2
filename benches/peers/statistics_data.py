#!/usr/bin/env python3
"""Writes the mixed-type CSV the statistics benchmark profiles: ROWS rows, 9 columns.

    statistics_data.py ROWS OUT.csv

Columns: 3 ints (one with missing values), 3 floats (one with missing values, one skewed),
3 strings (a small category set, a mid-size one with missing values, and a free-text one).
Deterministic: the same ROWS give the same file. 1,000,000 rows make about 54 MB.
"""

import random
import sys


def main() -> None:
    rows, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(20261127)
    payment = ["Cash", "Credit Card", "No Charge", "Unknown", "Mobile", "Prcard"]
    companies = [f"Cab Co {i:03d}" for i in range(300)]
    words = ["north", "south", "loop", "airport", "river", "lake", "park", "west", "station"]
    with open(out, "w", encoding="utf-8", newline="") as handle:
        handle.write("trip_id,passengers,pickup_area,fare,trip_miles,tip_rate,payment_type,company,note\n")
        for row in range(rows):
            area = "" if rng.random() < 0.05 else str(rng.randint(1, 77))
            fare = round(rng.lognormvariate(2.2, 0.7), 2)
            miles = "" if rng.random() < 0.1 else f"{rng.expovariate(0.4):.3f}"
            tip = f"{max(0.0, rng.gauss(0.15, 0.08)):.4f}"
            company = "" if rng.random() < 0.3 else rng.choice(companies)
            note = " ".join(rng.choice(words) for _ in range(rng.randint(1, 2)))
            handle.write(
                f"{row},{rng.randint(1, 6)},{area},{fare},{miles},{tip},"
                f"{rng.choice(payment)},{company},{note}\n"
            )


if __name__ == "__main__":
    main()

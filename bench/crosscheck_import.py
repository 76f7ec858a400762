"""Partner data import: N settlement rows from a CSV through our engine, against a plain Polars read + Parquet write.

Usage (from the checkout)::

    .venv/bin/python bench/crosscheck_import.py [--rows 10000000] [--database sqlite|postgres] [--keep]

The parent writes a settlement CSV of ``--rows`` rows into a temporary folder (``random.Random(42)``
pools of 200,000 people, 800 hospitals and 40 diagnoses; about 200 bytes a row, so 10 million rows
is a 2 GB file), then:

1. the baseline, in a fresh process: ``polars.read_csv(path).write_parquet(...)``, the plainest way to
   turn that file into Parquet (it holds the whole file in memory);
2. the engine, in a fresh process through ``harness.run_child`` (a throwaway database): the file
   taken into the uploads (copied and hashed, as an upload arrives) and logged as an import run
   (``partners.run_create``), then ``partners.run_import``: decode check, chunks of 200,000 rows
   normalised (dates in three formats, ID numbers and their check digits, type of care),
   SHA-256 row keys, duplicates dropped, Parquet chunks and a checkpoint per chunk, the reject report.

The data has what real files have: 1 % rows repeated, 0.5 % ID numbers with a wrong check digit
(kept, "with a warning"), 0.1 % without an ID number and 0.1 % with a date that is not one
(rejected). The child checks the counts come out exactly so. Reported: wall time and rows/s of each
side and their ratio; the CPU time of each (all threads), which does not depend on what else the
machine runs; peak resident memory of each process (``VmHWM``; for the engine also as it was when
the import ended, before the child reads every stored row back for its check). Goal (the issue): import >= 200,000
rows/s and memory < 4 GB. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from harness import RESULT_PREFIX

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
GOAL_ROWS_PER_SECOND = 200_000
GOAL_PEAK_GB = 4.0
BATCH = 1_000_000
PEOPLE = 200_000
HOSPITALS = 800

HEADERS = {  # our field -> the partner's column
    "id_number": "身份证号", "person_name": "姓名", "hospital_code": "定点医药机构编码",
    "hospital_name": "定点医药机构名称", "service": "医疗类别", "admitted_on": "入院日期",
    "discharged_on": "出院日期", "diagnosis": "出院诊断名称", "icd10": "出院诊断编码",
    "record_number": "结算流水号",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彩春菊凤洁梅琳素云莲真环雪荣爱妹香月"
CITIES = ("聊城市", "东昌府区", "临清市", "茌平区", "东阿县", "高唐县", "冠县", "莘县", "阳谷县")
KINDS = ("人民医院", "中医医院", "骨科医院", "第二人民医院", "妇幼保健院", "中心卫生院", "康复医院", "社区卫生服务中心")
DIAGNOSES = (
    ("腰椎间盘突出", "M51.202"), ("桡骨远端骨折", "S52.501"), ("胫骨骨折", "S82.201"), ("手指离断伤", "S68.101"),
    ("股骨颈骨折", "S72.001"), ("颅脑损伤", "S06.901"), ("肋骨骨折", "S22.301"), ("腰椎压缩性骨折", "S32.001"),
    ("高血压病", "I10.x00"), ("2型糖尿病", "E11.900"), ("社区获得性肺炎", "J18.900"), ("急性阑尾炎", "K35.900"),
    ("冠状动脉粥样硬化性心脏病", "I25.103"), ("脑梗死", "I63.900"), ("慢性胃炎", "K29.500"), ("白内障", "H26.900"),
    ("膝关节骨性关节炎", "M17.900"), ("肩袖损伤", "S46.001"), ("踝关节扭伤", "S93.401"), ("眼球挫伤", "S05.101"),
    ("颈椎病", "M47.802"), ("手部软组织损伤", "S60.901"), ("跟骨骨折", "S92.001"), ("锁骨骨折", "S42.001"),
    ("胆囊结石", "K80.200"), ("慢性阻塞性肺疾病", "J44.900"), ("尿路感染", "N39.000"), ("上呼吸道感染", "J06.900"),
    ("脊髓损伤", "T09.300"), ("烧伤", "T30.000"), ("肱骨骨折", "S42.301"), ("髌骨骨折", "S82.001"),
    ("视网膜脱离", "H33.000"), ("听力下降", "H91.900"), ("尘肺", "J64.x00"), ("职业性噪声聋", "H83.300"),
    ("脑出血", "I61.900"), ("甲状腺结节", "E04.101"), ("腰肌劳损", "M54.502"), ("骨盆骨折", "S32.801"),
)


# THE DATA ---------------------------------------------------------------------------------------------

def _check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def generate_csv(path: Path, rows: int, seed: int = 42) -> dict[str, int]:
    """Write the settlement CSV; returns how many rows of each kind of trouble it holds."""
    import polars as pl

    rng = random.Random(seed)
    regions = ["371502", "371521", "371522", "371523", "371524", "371525", "371526", "371581"]
    ids, names = [], []
    for i in range(PEOPLE):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 14000))
        first17 = f"{rng.choice(regions)}{born:%Y%m%d}{i % 1000:03d}"
        ids.append(first17 + _check_char(first17))
        names.append(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))))
    bad_ids = [i[:17] + ("0" if i[17] != "0" else "1") for i in ids]
    hospital_codes = [f"H{371500000 + i:09d}" for i in range(HOSPITALS)]
    hospital_names = [f"{rng.choice(CITIES)}{rng.choice(KINDS)}" + (f"{i}分院" if i % 3 else "") for i in range(HOSPITALS)]
    people = pl.DataFrame({"p": range(PEOPLE), "id": ids, "bad_id": bad_ids, "name": names})
    hospitals = pl.DataFrame({"h": range(HOSPITALS), "code": hospital_codes, "hname": hospital_names})
    diagnoses = pl.DataFrame({"d": range(len(DIAGNOSES)), "dname": [d[0] for d in DIAGNOSES],
                              "icd": [d[1] for d in DIAGNOSES]})
    counts = {"rows": rows, "repeated": 0, "bad_check_digit": 0, "no_id": 0, "bad_date": 0}
    start_date = pl.lit(dt.date(2025, 1, 1))
    with open(path, "wb") as out:
        for begin in range(0, rows, BATCH):
            n = min(BATCH, rows - begin)
            i = pl.int_range(begin, begin + n, dtype=pl.UInt64, eager=True).alias("i")
            # Row i repeats row i - 3 when i % 100 == 7: every draw below is keyed on ``src``.
            frame = pl.DataFrame(i).with_columns(
                src=pl.when((pl.col("i") % 100 == 7) & (pl.col("i") >= 3)).then(pl.col("i") - 3).otherwise(pl.col("i")))
            r = pl.col("src").hash(seed)
            frame = frame.with_columns(
                p=(r % PEOPLE).cast(pl.Int64), h=((r // PEOPLE) % HOSPITALS).cast(pl.Int64),
                d=((r // 7919) % len(DIAGNOSES)).cast(pl.Int64), day=((r // 104729) % 700).cast(pl.Int64),
                stay=((r // 1299709) % 30 + 1).cast(pl.Int64), inpatient=(r // 15485863) % 5 < 3,
                fmt=(r // 32452843) % 20, money=((r // 49979687) % 5_000_000).cast(pl.Int64),
            )
            frame = (frame.join(people, on="p", how="left").join(hospitals, on="h", how="left")
                     .join(diagnoses, on="d", how="left").sort("i"))
            admitted = start_date + pl.duration(days=pl.col("day"))
            discharged = admitted + pl.duration(days=pl.col("stay"))

            def formatted(date: pl.Expr) -> pl.Expr:
                return (pl.when(pl.col("fmt") == 0).then(date.dt.strftime("%Y/%-m/%-d"))
                        .when(pl.col("fmt") == 1).then(date.dt.strftime("%Y%m%d"))
                        .otherwise(date.dt.strftime("%Y-%m-%d")))

            trouble = pl.col("src") % 1000
            out_frame = frame.select(
                pl.when(trouble == 101).then(None).when(trouble.is_in([211, 212, 213, 214, 215]))
                .then(pl.col("bad_id")).otherwise(pl.col("id")).alias(HEADERS["id_number"]),
                pl.col("name").alias(HEADERS["person_name"]),
                pl.col("code").alias(HEADERS["hospital_code"]),
                pl.col("hname").alias(HEADERS["hospital_name"]),
                pl.when(pl.col("inpatient")).then(pl.lit("住院")).otherwise(pl.lit("普通门诊")).alias(HEADERS["service"]),
                pl.when(trouble == 303).then(pl.lit("不详")).otherwise(formatted(admitted)).alias(HEADERS["admitted_on"]),
                pl.when(pl.col("inpatient")).then(formatted(discharged)).alias(HEADERS["discharged_on"]),
                pl.col("dname").alias(HEADERS["diagnosis"]),
                pl.col("icd").alias(HEADERS["icd10"]),
                pl.format("JS{}", pl.col("src")).alias(HEADERS["record_number"]),
                (pl.col("money") / 100).round(2).alias("医疗费总额"),
                (pl.col("money") * 0.7 / 100).round(2).alias("统筹基金支付"),
                (pl.col("money") * 0.3 / 100).round(2).alias("个人现金支付"),
                pl.lit("职工基本医疗保险").alias("险种类型"),
            )
            out_frame.write_csv(out, include_header=begin == 0)
            counted = frame.select(
                repeated=(pl.col("i") != pl.col("src")).sum(),
                bad_check_digit=trouble.is_in([211, 212, 213, 214, 215]).sum(),
                no_id=(trouble == 101).sum(), bad_date=(trouble == 303).sum(),
            ).row(0, named=True)
            for key, value in counted.items():
                counts[key] += int(value)
    return counts


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: Linux carries that over fork
    and exec, so a child would report the parent's peak from generating the data."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (user + system): what the work costs whatever the load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# BASELINE -----------------------------------------------------------------------------------------------

def baseline(csv_path: str) -> None:
    """``polars.read_csv(...).write_parquet(...)``, alone in this process."""
    import polars as pl

    out = Path(csv_path).with_suffix(".baseline.parquet")
    cpu = _cpu_seconds()
    started = time.perf_counter()
    frame = pl.read_csv(csv_path)
    frame.write_parquet(out)
    seconds = time.perf_counter() - started
    print(RESULT_PREFIX + json.dumps({"rows": frame.height, "seconds": round(seconds, 2),
                                      "cpu_seconds": round(_cpu_seconds() - cpu, 2),
                                      "parquet_bytes": out.stat().st_size, "peak_rss_mb": round(_peak_rss_mb())}))
    out.unlink()


def run_baseline(csv_path: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--baseline", str(csv_path)], stdout=subprocess.PIPE, text=True,
                          check=True, cwd=PROJECT_DIR)
    line = next(line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


# CHILD: THE ENGINE --------------------------------------------------------------------------------------

def child(database: str, csv_path: str, expected: dict[str, int]) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from laojian.core.models import Committee
    from laojian.crosscheck import partners, store
    from laojian.crosscheck.models import Source

    call_command("migrate", verbosity=0, interactive=False)
    committee = Committee.objects.create(name="聊城市劳动能力鉴定委员会", short_name="聊城", code="371500",
                                         case_number_prefix="聊劳鉴")
    source = Source.objects.create(committee=committee, kind="settlement", name="市医保局结算数据",
                                   department="聊城市医疗保障局", mapping=HEADERS)
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    target = partners.incoming_path()
    digest = __import__("hashlib").sha256()
    size = 0
    with open(csv_path, "rb") as src, open(target, "wb") as dst:
        while block := src.read(4 * 1024 * 1024):
            digest.update(block)
            dst.write(block)
            size += len(block)
    run = partners.run_create(source, path=target, file_name=Path(csv_path).name, sha256=digest.hexdigest(),
                              size=size, actor=None)
    received = time.perf_counter()
    cpu = _cpu_seconds()
    run = partners.run_import(run.pk)
    finished = time.perf_counter()
    engine_cpu = _cpu_seconds() - cpu
    rss_import = _peak_rss_mb()  # before the check below, which reads every stored row back
    stored = store.records(committee.pk, "settlement", [run.pk]).select(__import__("polars").len()).collect().item()
    rows = expected["rows"]
    want = {"rows_done": rows, "rows_rejected": expected["no_id"] + expected["bad_date"],
            "rows_duplicate": expected["repeated"], "rows_flagged": expected["bad_check_digit"],
            "rows_added": rows - expected["repeated"] - expected["no_id"] - expected["bad_date"], "stored": stored}
    got = {"rows_done": run.rows_done, "rows_rejected": run.rows_rejected, "rows_duplicate": run.rows_duplicate,
           "rows_flagged": run.rows_flagged, "rows_added": run.rows_added, "stored": run.rows_added}
    engine_seconds = finished - received
    result = {
        "database": database, "state": run.state, "error": run.error, "chunks": run.chunks_done,
        "counts": got, "counts_as_expected": got == want, "expected": want,
        "receive_seconds": round(received - started, 2), "engine_seconds": round(engine_seconds, 2),
        "engine_cpu_seconds": round(engine_cpu, 2), "load_average": os.getloadavg()[0],
        "total_seconds": round(finished - started, 2),
        "engine_rows_per_second": round(rows / engine_seconds), "total_rows_per_second": round(rows / (finished - started)),
        "peak_rss_mb": round(_peak_rss_mb()), "peak_rss_import_mb": round(rss_import),
        "peak_rss_before_import_mb": round(rss_before),
        "file_bytes": size, "parquet_bytes": sum(p.stat().st_size for p in store.kind_dir(committee.pk, "settlement")
                                                 .glob("*.parquet")),
    }
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False))


# PARENT ------------------------------------------------------------------------------------------------

def parent(args: argparse.Namespace) -> None:
    import polars as pl

    folder = Path(tempfile.mkdtemp(prefix="laojian_bench_import_"))
    try:
        csv_path = folder / "settlement.csv"
        print(f"== generating {args.rows:,} settlement rows in {folder}", file=sys.stderr)
        started = time.perf_counter()
        expected = generate_csv(csv_path, args.rows)
        print(f"   {csv_path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        print("== baseline: polars.read_csv(...).write_parquet(...)", file=sys.stderr)
        base = run_baseline(csv_path)
        print(f"== engine ({args.database})", file=sys.stderr)
        engine = harness.run_child(__file__, args.database, ["--csv", str(csv_path), "--expected", json.dumps(expected)],
                                   keep=args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    base_rps = base["rows"] / base["seconds"]
    ratio = engine["engine_seconds"] / base["seconds"]
    cpu_ratio = engine["engine_cpu_seconds"] / base["cpu_seconds"]
    print()
    print(f"{'side':<44} {'seconds':>8} {'rows/s':>10} {'CPU s':>7} {'peak RSS':>9}")
    print("-" * 82)
    print(f"{'baseline: read_csv + write_parquet':<44} {base['seconds']:>8.1f} {base_rps:>10,.0f} "
          f"{base['cpu_seconds']:>7.1f} {base['peak_rss_mb']:>6,} MB")
    print(f"{'engine: run_import (decode check … report)':<44} {engine['engine_seconds']:>8.1f} "
          f"{engine['engine_rows_per_second']:>10,} {engine['engine_cpu_seconds']:>7.1f} {engine['peak_rss_mb']:>6,} MB")
    print(f"{'engine + receiving the file (copy, SHA-256)':<44} {engine['total_seconds']:>8.1f} "
          f"{engine['total_rows_per_second']:>10,}")
    speed = "ok" if engine["engine_rows_per_second"] >= GOAL_ROWS_PER_SECOND else "MISS"
    memory = "ok" if engine["peak_rss_mb"] < GOAL_PEAK_GB * 1024 else "MISS"
    print(f"\nratio engine/baseline {ratio:.2f} (CPU time {cpu_ratio:.2f}); load average {engine['load_average']:.1f} "
          f"on {os.cpu_count()} CPUs; {engine['engine_rows_per_second']:,} rows/s against the goal of "
          f"{GOAL_ROWS_PER_SECOND:,}: {speed}; peak RSS {engine['peak_rss_mb']:,} MB against {GOAL_PEAK_GB:.0f} GB: "
          f"{memory} (the import alone {engine['peak_rss_import_mb']:,} MB, before the stored rows are read back to "
          f"check them); counts as expected: {engine['counts_as_expected']} ({engine['state']})")
    print(f"file {engine['file_bytes'] / 1e9:.2f} GB, {engine['chunks']} chunks, Parquet {engine['parquet_bytes'] / 1e6:,.0f} MB "
          f"(baseline Parquet {base['parquet_bytes'] / 1e6:,.0f} MB)")

    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"crosscheck-import-{stamp}.json"
    payload = {
        "benchmark": "bench/crosscheck_import.py", "run_at": stamp, "rows": args.rows,
        "goal": {"rows_per_second": GOAL_ROWS_PER_SECOND, "peak_gb": GOAL_PEAK_GB},
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "polars": pl.__version__},
        "data": expected, "baseline": base, "engine": engine, "ratio": round(ratio, 2),
        "cpu_ratio": round(cpu_ratio, 2),
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {path.relative_to(PROJECT_DIR)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="settlement rows to generate (default 10000000)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and the throwaway database")
    parser.add_argument("--child", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline(args.baseline)
    elif args.child:
        child(args.child, args.csv, json.loads(args.expected))
    else:
        parent(args)


if __name__ == "__main__":
    main()

"""Documents: render 1,000 conclusion letters, against the same text as a plain PDF with no layout.

Usage (from the checkout)::

    .venv/bin/python bench/documents.py [--letters 1000] [--no-sign]

No database: the letters are rendered in this process with ``DJANGO_SETTINGS_MODULE=laojian.settings``
and a temporary ``LAOJIAN_DATA_DIR`` (the signing keys go there and are removed afterwards).

What is measured, per letter, after a warm-up of 20 letters (``random.Random(42)`` content: names,
masked ID numbers, employers, grades, clauses, a 300–600 character basis):

1. ``pdf.render(letter)``: the official layout (title, number, rule, table, body, committee, date,
   seal, QR code, page furniture) with the letter's own font subset embedded;
2. ``render`` + ``PadesSigner().sign`` (reported separately);
3. the baseline: the same text with fpdf2 and no layout, one font, one ``multi_cell``, the font made
   the same way (the process-wide glyph cache, a per-document TrueType subset).

The sides run alternately, letter by letter. Median and p95 in ms; the ratio of the medians. Goal (the
issue): median <= 200 ms per letter. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
GOAL_MS = 200.0
WARM_UP = 20

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽喆珺堃昇"
EMPLOYERS = ("聊城市鲁西化工有限公司", "山东时风（集团）有限责任公司", "聊城市第三建筑工程有限公司", "东阿阿胶股份有限公司",
             "临清市新华纺织有限公司", "茌平县信发铝业有限公司", "冠县物流运输有限公司", "高唐县泉林纸业有限公司")
INJURIES = ("右手示指、中指被冲床压伤", "高处坠落致腰1椎体压缩性骨折", "左小腿被重物砸伤致胫腓骨骨折",
            "交通事故致右股骨颈骨折", "右眼被铁屑击伤致视力下降", "左手拇指被电锯切断", "头部外伤致硬膜外血肿")
GRADES = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
BASIS = (
    "经专家组现场检查，伤者神志清楚，查体合作，{part}可见手术瘢痕，局部压痛不明显。",
    "患肢关节活动度：屈曲{a}度，伸展{b}度，较健侧明显受限，肌力{m}级。",
    "复查影像学资料示骨折线模糊，内固定位置良好，未见明显移位。",
    "依据《劳动能力鉴定 职工工伤与职业病致残等级》（GB/T 16180-2014）第{clause}条之规定，",
    "结合病历资料、影像学检查及专家组集体讨论意见，认定其劳动功能障碍程度为{grade}级，生活自理障碍不构成等级。",
    "伤者自述阴雨天气时局部疼痛加重，长时间站立及负重行走后症状明显，日常生活基本能够自理。",
    "专家组认为，其目前的功能障碍与本次工伤事故存在直接因果关系，已达到医疗终结期，可以作出鉴定结论。",
    "根据《工伤保险条例》第二十一条、第二十二条及《工伤职工劳动能力鉴定管理办法》的有关规定，",
    "用人单位与伤者对停工留薪期的认定无异议，鉴定过程中双方均到场陈述意见。",
)
PARTS = ("右手背侧", "腰背部", "左小腿前侧", "右髋部外侧", "右眼眶周围", "左手掌侧", "头颅左颞部")


def conclusion_letters(count: int, rng: random.Random) -> list:
    """``count`` conclusion letters with varied, realistic content."""
    from laojian.documents.pdf import Letter

    letters = []
    for i in range(count):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        grade = rng.choice(GRADES)
        clause = f"5.{rng.randint(1, 10)}.{rng.randint(1, 9)}.{rng.randint(1, 12)}"
        basis = ""
        target = rng.randint(300, 600)
        while len(basis) < target:
            basis += rng.choice(BASIS).format(part=rng.choice(PARTS), a=rng.randint(10, 90), b=rng.randint(0, 20),
                                              m=rng.randint(2, 5), clause=clause, grade=grade)
        basis = basis[:target].rstrip("，、") + "。"
        injured = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        letters.append(Letter(
            committee_name="聊城市劳动能力鉴定委员会",
            title="劳动能力鉴定结论书",
            number=f"聊劳鉴字〔2026〕第{i + 1:04d}号",
            issued_on=dt.date(2026, 11, 28) - dt.timedelta(days=rng.randint(0, 60)),
            recipient=f"{name}：",
            rows=(
                ("姓名", name), ("性别", rng.choice("男女")),
                ("身份证号", f"3715{rng.randint(0, 99):02d}********{rng.randint(0, 9999):04d}"),
                ("用人单位", rng.choice(EMPLOYERS)),
                ("受伤时间", f"{injured.year}年{injured.month}月{injured.day}日"),
                ("受伤情况", rng.choice(INJURIES)),
                ("伤残等级", f"{grade}级（条款 {clause}）"),
            ),
            paragraphs=(
                f"{name}于{injured.year}年{injured.month}月{injured.day}日发生工伤，经工伤认定，"
                f"现申请劳动能力鉴定。本委员会组织专家进行了鉴定，结论如下。",
                basis,
                f"鉴定结论：{name}的劳动功能障碍程度为{grade}级。",
                "如对本鉴定结论不服，可在收到本结论书之日起十五日内向山东省劳动能力鉴定委员会申请再次鉴定。",
            ),
            verify_url=f"https://laojian.example.cn/v/{code}",
            verify_code=f"{code[:4]}-{code[4:]}",
            footer=f"案件编号 LC-2026-{i + 1:05d}",
        ))
    return letters


def plain_pdf(letter) -> bytes:
    """The baseline: the letter's text in one ``multi_cell``, no layout, the font made the same way."""
    from fpdf import FPDF

    from laojian.documents import pdf as documents_pdf

    text = "\n".join([letter.title, letter.number, letter.recipient,
                      *(f"{label}：{value}" for label, value in letter.rows), *letter.paragraphs,
                      letter.committee_name, documents_pdf.chinese_date(letter.issued_on),
                      letter.verify_url, letter.verify_code, letter.footer])
    source = documents_pdf._font_source()  # the renderer's process-wide glyph cache, on purpose
    with tempfile.TemporaryDirectory(prefix="laojian-bench-") as tmp:
        font_path = os.path.join(tmp, "plain.ttf")
        Path(font_path).write_bytes(source.document_font(text))
        doc = FPDF(unit="mm", format="A4")
        doc.add_font("plain", fname=font_path)
        doc.fonts["plain"].ttfont.recalcBBoxes = False  # as render() does: the bounds are exact already
        doc.add_page()
        doc.set_font("plain", size=16)
        doc.multi_cell(0, 9, text)
        return bytes(doc.output())


def summary(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
            "min_ms": round(ordered[0], 2), "max_ms": round(ordered[-1], 2), "n": len(ordered)}


def measure(count: int, sign: bool) -> dict:
    import django

    django.setup()
    from laojian.documents.pdf import render
    from laojian.documents.signing import PadesSigner

    rng = random.Random(42)
    letters = conclusion_letters(count + WARM_UP, rng)
    signer = PadesSigner()
    first_started = time.perf_counter()
    render(letters[0])
    first_ms = (time.perf_counter() - first_started) * 1000
    for letter in letters[1:WARM_UP]:
        render(letter)
        plain_pdf(letter)
    rendered, signed, plain, sizes, pages = [], [], [], [], []
    for i, letter in enumerate(letters[WARM_UP:]):
        order = ("render", "plain") if i % 2 == 0 else ("plain", "render")
        for side in order:
            started = time.perf_counter_ns()
            if side == "render":
                pdf = render(letter)
                rendered.append((time.perf_counter_ns() - started) / 1e6)
                sizes.append(len(pdf))
                pages.append(pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page>>") or 0)
                if sign:
                    started = time.perf_counter_ns()
                    signer.sign(pdf, committee_code="LC", committee_name=letter.committee_name)
                    signed.append(rendered[-1] + (time.perf_counter_ns() - started) / 1e6)
            else:
                plain_pdf(letter)
                plain.append((time.perf_counter_ns() - started) / 1e6)
    result = {
        "letters": count,
        "first_letter_ms": round(first_ms, 1),
        "render": summary(rendered),
        "plain": summary(plain),
        "ratio": round(statistics.median(rendered) / statistics.median(plain), 2),
        "pdf_bytes_median": int(statistics.median(sizes)),
    }
    if sign:
        result["render_and_sign"] = summary(signed)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--no-sign", action="store_true", help="skip the render + sign series")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="laojian_bench_documents_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    os.environ["LAOJIAN_DATA_DIR"] = data_dir
    os.environ.setdefault("LAOJIAN_DEBUG", "0")
    os.environ.setdefault("LAOJIAN_LOG_LEVEL", "ERROR")
    sys.path.insert(0, str(PROJECT_DIR))
    try:
        result = measure(args.letters, sign=not args.no_sign)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    import django
    import fpdf

    print()
    print(f"{'side':<26} {'median ms':>9} {'p95 ms':>8}")
    print("-" * 45)
    print(f"{'render (official layout)':<26} {result['render']['median_ms']:>9.1f} {result['render']['p95_ms']:>8.1f}")
    if "render_and_sign" in result:
        s = result["render_and_sign"]
        print(f"{'render + PAdES sign':<26} {s['median_ms']:>9.1f} {s['p95_ms']:>8.1f}")
    print(f"{'plain PDF (baseline)':<26} {result['plain']['median_ms']:>9.1f} {result['plain']['p95_ms']:>8.1f}")
    verdict = "ok" if result["render"]["median_ms"] <= GOAL_MS else "MISS"
    print(f"\nratio render/plain {result['ratio']:.2f}; median {result['render']['median_ms']:.1f} ms against the "
          f"goal of {GOAL_MS:.0f} ms: {verdict}; first letter of the process {result['first_letter_ms']:.0f} ms; "
          f"median PDF {result['pdf_bytes_median'] // 1024} kB")

    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"documents-{stamp}.json"
    payload = {
        "benchmark": "documents",
        "run_at": stamp,
        "goal_median_ms": GOAL_MS,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "django": django.get_version(), "fpdf2": fpdf.__version__},
        "result": result,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {path.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()

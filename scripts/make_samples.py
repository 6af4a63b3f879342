"""Regenerates the binary sample documents in data/ (the PDF and the DOCX) from the text below.

Run: python scripts/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

import docx
from fpdf import FPDF

DATA = Path(__file__).resolve().parent.parent / "data"

HANDBOOK_TITLE = "Serving Language Models: Course Handbook"
HANDBOOK_PAGES = [
    (
        "1. Course overview",
        [
            "Serving Language Models is a ten-week course that compares two ways of using large language "
            "models: calling a hosted model through a cloud API, and running an open-weight model on "
            "hardware you control. Every lab asks the same question of both deployments, so that students "
            "see the trade-offs in numbers rather than in slogans.",
            "Grading: the weekly labs count for 40 percent of the final grade, the midterm project for 25 "
            "percent and the final comparison report for 35 percent. Labs handed in late lose 10 percent of "
            "their points per day, and no lab is accepted more than three days after its deadline.",
            "Office hours are held on Thursdays from 14:00 to 16:00 in room B204. Questions about the lab "
            "machines go to the teaching assistant, not to the lecturer.",
        ],
    ),
    (
        "2. Measuring latency",
        [
            "Time to first token (TTFT) is the time from sending a request until the first token of the "
            "answer arrives in the stream. It is what a user feels as the waiting time before the answer "
            "starts, and it grows with the length of the prompt because the whole prompt must be processed "
            "first.",
            "Throughput is reported as output tokens per second, measured over the decoding phase only, that "
            "is from the first token to the last one. End-to-end latency is the full time until the last "
            "token. Report all three numbers; one of them alone hides the others.",
            "In Lab 2 every question is sent 20 times to each deployment. Report the median (p50) and the "
            "95th percentile (p95) rather than the mean, because a few slow requests, for example a cold "
            "start while a local model is loaded into memory, distort the average.",
        ],
    ),
    (
        "3. Cost",
        [
            "Cloud APIs charge per token, with separate prices per million input tokens and per million "
            "output tokens; output tokens are usually three to five times more expensive than input tokens. "
            "A retrieval-augmented prompt is mostly input: the retrieved passages are paid for on every "
            "question.",
            "Worked example: a request with 2,000 input tokens and 500 output tokens, at 0.15 USD per million "
            "input tokens and 0.60 USD per million output tokens, costs 0.0003 + 0.0003 = 0.0006 USD.",
            "A local model has no price per token, but it is not free. Count the hardware, written off over "
            "three years, and the electricity: a 350 W workstation running eight hours a day at 0.30 EUR per "
            "kWh uses 2.8 kWh and costs 0.84 EUR per day.",
        ],
    ),
    (
        "4. Privacy and compliance",
        [
            "Personal data, such as health records or student grades, falls under the GDPR. Sending it to a "
            "cloud API makes the provider a data processor, which requires a data processing agreement and a "
            "lawful basis before the first request is sent.",
            "A local model keeps prompts and documents on the machine: nothing leaves it, which is why "
            "hospitals and law firms often prefer local deployment even when the answers are somewhat weaker.",
            "Course rule: the dataset marked confidential in the lab repository may only be used with local "
            "models. Submitting any part of it to a cloud API, even for a test, fails the lab.",
        ],
    ),
    (
        "5. Hardware and quantization",
        [
            "Quantization stores model weights with fewer bits. The Q4_K_M format keeps about 4.8 bits per "
            "weight, so a model with 7 billion parameters needs roughly 4.4 GB instead of 14 GB in 16-bit "
            "precision, with a small loss in quality.",
            "Rule of thumb for memory: parameters times bits per weight divided by eight, plus about 20 "
            "percent for the KV cache and runtime buffers. The KV cache grows linearly with the context "
            "length, so doubling the context window doubles that part of the memory.",
            "On a laptop without a GPU, a 1 to 3 billion parameter model in Q4_K_M is the practical limit "
            "for interactive use; larger models run, but produce fewer than five tokens per second.",
        ],
    ),
]

POLICY_TITLE = "Travel and Expense Policy"
POLICY_SECTIONS = [
    (
        "Booking travel",
        [
            "All business trips are booked through the department office at least 14 days before departure. "
            "Later bookings need the written approval of the head of department.",
            "Flights shorter than six hours are booked in economy class. Trains are preferred for journeys "
            "under four hours.",
        ],
    ),
    (
        "Daily allowances",
        [
            "Staff receive a daily allowance (per diem) for meals and local transport. The allowance is paid "
            "for each calendar day of the trip, and halved for the day of departure and the day of return.",
        ],
    ),
    (
        "Receipts and reimbursement",
        [
            "Expenses are claimed through the expense portal within 30 days after the trip. A receipt is "
            "required for every single expense above 25 euro; smaller amounts may be listed without one.",
            "Reimbursements are paid with the next monthly salary. Claims submitted after 90 days are not reimbursed.",
        ],
    ),
    (
        "Conferences",
        [
            "Each member of staff may attend at most two conferences per year at the department's expense. "
            "Presenting a paper or a poster takes priority when the budget does not cover all requests.",
        ],
    ),
]
POLICY_TABLE = [
    ("Destination", "Daily allowance"),
    ("Domestic", "45 euro"),
    ("Abroad, EU", "70 euro"),
    ("Abroad, outside the EU", "85 euro"),
]


def make_pdf(path: Path) -> None:
    pdf = FPDF(format="A4")
    pdf.set_title(HANDBOOK_TITLE)
    pdf.set_author("Course team")
    pdf.set_margins(20, 20, 20)
    for heading, paragraphs in HANDBOOK_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, heading)
        pdf.ln(3)
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = POLICY_TITLE
    document.add_heading(POLICY_TITLE, level=0)
    for heading, paragraphs in POLICY_SECTIONS:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        if heading == "Daily allowances":
            table = document.add_table(rows=0, cols=2)
            for left, right in POLICY_TABLE:
                cells = table.add_row().cells
                cells[0].text, cells[1].text = left, right
    document.save(str(path))


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    make_pdf(DATA / "course-handbook.pdf")
    make_docx(DATA / "travel-policy.docx")
    print("wrote", DATA / "course-handbook.pdf", "and", DATA / "travel-policy.docx")

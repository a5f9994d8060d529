"""The names of what tinyweb writes: the build folder OUT/ and the files every stage, run and generated page
agree on. Each name is written here once.

OUT/
  clean/                     the cleaned pages (a `datasets` Dataset: Arrow shards)
  topics.json                topics, their keywords and each page's topic
  framework.json             every class: name, topic, role, kind, declarations, uses
  semantic-css-framework.css the framework itself
  page-font-faces.json       per page, the @font-face rules it keeps for itself
  pages/<id>.html            every page rewritten to use the framework
  labels.json                each page's label (the request a person would type) and where it came from
  final-dataset.json         the prompt dataset in the prototype's format
  dataset/                   the same as a `datasets` DatasetDict (train/validation), Parquet and a card
  dataset-stats.png          token lengths and pages per topic
  verify/                    side-by-side PNGs of the pages that render least like their snapshots
  report.json                one section per stage (an output for people: no stage reads another's section)

A training run, runs/NAME/ (tinyweb.learn.runs): run.json, adapter/, checkpoints/, metrics.json, loss.png, a
copy of the framework, and evaluation/ (evaluation.json and contact-sheet.png) once it has been evaluated.
"""

from __future__ import annotations

CLEAN_DIR = "clean"
TOPICS_FILE = "topics.json"
FRAMEWORK_FILE = "framework.json"
FRAMEWORK_CSS = "semantic-css-framework.css"
PAGE_FACES_FILE = "page-font-faces.json"
PAGES_DIR = "pages"
LABELS_FILE = "labels.json"
FINAL_DATASET = "final-dataset.json"
DATASET_DIR = "dataset"
STATS_PNG = "dataset-stats.png"
VERIFY_DIR = "verify"
REPORT_FILE = "report.json"

# Every semantic page sits in OUT/pages/ and links the framework one folder up; generated pages keep the link
# and get a copy of the framework beside them (tinyweb.learn.render.link_framework points it there).
FRAMEWORK_HREF = "../" + FRAMEWORK_CSS

RUN_FILE = "run.json"
ADAPTER_DIR = "adapter"
CHECKPOINTS_DIR = "checkpoints"
METRICS_FILE = "metrics.json"
LOSS_PNG = "loss.png"
EVALUATION_DIR = "evaluation"
EVALUATION_FILE = "evaluation.json"
CONTACT_SHEET = "contact-sheet.png"

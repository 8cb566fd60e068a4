#!/usr/bin/env bash
# Prepare a fresh Debian machine for riskmon: system packages, then a virtualenv.
#
# Installs (only when missing): redis-server and redis-tools, a Java 17+ runtime, Maven
# (Kafka is fetched from Maven Central by `riskmon stack up`, not here),
# prometheus-alertmanager, Prometheus with promtool and chromium (for the
# alert-delivery, metrics, rules and console browser tests), Tesseract OCR
# with its English data and the DejaVu fonts (for `riskmon intake`), libgomp1
# (LightGBM's OpenMP runtime), then creates
# .venv and installs the package with its test extras. Safe to re-run: it
# does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# redis-cli joins the nodes of `riskmon stack up --redis-cluster` (redis-server pulls it in; stated for clarity)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# A real Alertmanager for the alert-delivery tests (Debian does not start it: no systemd here).
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# Prometheus (and promtool): the tests check the rules and scrape a real worker with it.
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || need+=(prometheus)
# Debian's headless-capable Chromium for the console's browser tests and screenshots (driven over DevTools).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Tesseract OCR and its English data for `riskmon intake` (scanned application forms), and the
# DejaVu fonts the form generator draws with (a serif face OCR reads well).
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
[ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || [ -f /usr/share/tesseract-ocr/4.00/tessdata/eng.traineddata ] || need+=(tesseract-ocr-eng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need+=(fonts-dejavu-core)
# OpenMP runtime of LightGBM's wheel (the gradient-boosted model, riskmon.models.gbm).
case "$(/sbin/ldconfig -p 2>/dev/null || true)" in *libgomp.so.1*) ;; *) need+=(libgomp1) ;; esac
if [ ${#need[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${need[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "bootstrap: need root or sudo to install ${need[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The package enables a system-wide Prometheus on :9090; the tests start their
    # own on free loopback ports, so stop the service we just brought in.
    if [[ " ${need[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "bootstrap: riskmon needs Python 3.11 or newer" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv" >&2
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.riskmon-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing riskmon and its dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
fi
echo "bootstrap: ready (.venv/bin/riskmon)" >&2

#!/usr/bin/env bash
# Install the Debian packages arcli's PDFs and tests use, when missing and when we may.
#   poppler-utils: pdftotext/pdftoppm/pdfsig (tests read PDFs back)   qpdf: structure checks
#   fonts-wqy-microhei: embedded CJK font for Chinese statements and letters
#   postgresql: the tests also run against a throwaway PostgreSQL cluster
#   chromium: the tests open `report pack`'s HTML in a real headless browser
set -euo pipefail
need=()
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v chromium >/dev/null || need+=(chromium)
if [ "${1:-}" = "--with-postgres" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "arcli: please install: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 0
fi
echo "installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

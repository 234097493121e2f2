# streetbump — the two commands that matter: `make demo` and `make test`.
SWIFT        ?= swift
APT_PACKAGES := libproj-dev libsqlite3-dev zlib1g-dev pkg-config
# The tests also drive the review page in a real browser, with Leaflet from Debian.
TEST_APT_PACKAGES := chromium libjs-leaflet
DEMO_DIR     ?= demo-out
# `make demo` ends by serving the review page; DEMO_SERVE=0 stops after the batch steps.
DEMO_SERVE   ?= 1
DEMO_PORT    ?= 8080
BIN_RELEASE  := .build/release/streetbump

.PHONY: all deps test-deps apt-install build release demo screenshot test bench bench-stages bench-check fuzz load clean

all: build

# Installs the system libraries when run as root (CI, fresh containers); otherwise says what to install.
deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps: deps
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"

apt-install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing system packages:$$missing"; echo "install them with: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product streetbump

# The main job end to end on the embedded default: simulate a city, ingest it (detect, store,
# cluster, classify), list the top candidates, export them for GIS, and file one Open311
# request per pothole into the embedded queue.
demo: release
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(BIN_RELEASE) simulate --out $(DEMO_DIR)/traces --trips 100 --seed 42
	$(BIN_RELEASE) ingest $(DEMO_DIR)/traces --db $(DEMO_DIR)/streetbump.sqlite
	@echo; echo "top candidates:"; $(BIN_RELEASE) clusters list --db $(DEMO_DIR)/streetbump.sqlite --limit 15
	@$(BIN_RELEASE) clusters export --db $(DEMO_DIR)/streetbump.sqlite --format geojson --out $(DEMO_DIR)/clusters.geojson
	@$(BIN_RELEASE) clusters export --db $(DEMO_DIR)/streetbump.sqlite --format csv --out $(DEMO_DIR)/clusters.csv
	@echo; echo "against the simulated truth:"; \
	  $(BIN_RELEASE) evaluate --db $(DEMO_DIR)/streetbump.sqlite --truth $(DEMO_DIR)/traces/truth.csv --crossings $(DEMO_DIR)/traces/crossings.csv
	@echo; echo "filing the potholes into the embedded Open311 queue (a second run files nothing twice):"
	$(BIN_RELEASE) file --db $(DEMO_DIR)/streetbump.sqlite
	$(BIN_RELEASE) file --db $(DEMO_DIR)/streetbump.sqlite
	@$(BIN_RELEASE) requests list --db $(DEMO_DIR)/streetbump.sqlite | head -12
	@echo; $(BIN_RELEASE) requests show 1 --db $(DEMO_DIR)/streetbump.sqlite
	@echo; $(BIN_RELEASE) evaluate --db $(DEMO_DIR)/streetbump.sqlite --truth $(DEMO_DIR)/traces/truth.csv | tail -1
	@echo "exports: $(DEMO_DIR)/clusters.geojson, $(DEMO_DIR)/clusters.csv; details: $(BIN_RELEASE) clusters show ID --db $(DEMO_DIR)/streetbump.sqlite"
	@if [ "$(DEMO_SERVE)" = 1 ]; then \
	  echo; echo "review page: http://127.0.0.1:$(DEMO_PORT)/  (Open311 queue: http://127.0.0.1:$(DEMO_PORT)/open311/v2/requests.json); Ctrl-C stops the server"; \
	  $(BIN_RELEASE) serve --db $(DEMO_DIR)/streetbump.sqlite --port $(DEMO_PORT); \
	fi

# A PNG of the review page on the demo city (made first when missing), one pothole open.
screenshot: release test-deps
	@test -f $(DEMO_DIR)/streetbump.sqlite || $(MAKE) --no-print-directory demo DEMO_SERVE=0
	@bash -c 'set -e; bin=$(BIN_RELEASE); db=$(DEMO_DIR)/streetbump.sqlite; port=18089; \
	  id=$$($$bin clusters list --class pothole --limit 1 --db $$db | awk "NR==2{print \$$1}"); \
	  $$bin serve --db $$db --port $$port --no-file 2>/dev/null & pid=$$!; trap "kill $$pid" EXIT; \
	  for i in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null && break; sleep 0.1; done; \
	  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 --virtual-time-budget=15000 \
	    --screenshot=$(CURDIR)/$(DEMO_DIR)/review-page.png "http://127.0.0.1:$$port/#cluster=$$id" 2>/dev/null; \
	  echo "wrote $(DEMO_DIR)/review-page.png (cluster $$id open)"'

# The HTTP suites run in their own process: CPU-bound detection tests would otherwise starve
# the in-process servers' threads and turn into timeouts that have nothing to do with the code.
HTTP_SUITES := Open311Tests|BumpFilingTests|StreetBumpServerTests
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '$(HTTP_SUITES)'
	$(SWIFT) test --skip-build --filter '$(HTTP_SUITES)'

# Whole-process throughput and memory over a fixed simulated set (made once in bench-data/),
# as ratios to `wc -l`; writes Benchmarks/RESULTS.md.
bench: release
	@command -v /usr/bin/time >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq time; }
	Benchmarks/run.sh $(BIN_RELEASE)

# Per-stage benchmarks (ordo-one/benchmark, Benchmarks/Package.swift): time, throughput,
# allocations and peak memory of parsing, detection, PROJ, clustering, store writes and ingest.
bench-stages: deps
	cd Benchmarks && $(SWIFT) package benchmark

# Fails (exit 2) when a stage allocates more than its committed threshold (Benchmarks/Thresholds)
# by over 2%; after an intended change: cd Benchmarks && swift package
# --allow-writing-to-package-directory benchmark thresholds update --metric mallocCountTotal
bench-check: deps
	cd Benchmarks && $(SWIFT) package benchmark thresholds check --metric mallocCountTotal

# libFuzzer (with AddressSanitizer) on every reader: upload bodies (gzip, every single-file
# format, detection) and files as ingest reads them (zip exports, gzip, GPX, CSV, NDJSON),
# seeded from SampleTraces and Tests/Fuzz/regressions (hostile files a CLI test replays in
# `make test`), FUZZ_SECONDS each. Crashers land in Tests/Fuzz/crashers/: add each to
# Tests/Fuzz/regressions with its expected message in HostileFileTests.
FUZZ_SECONDS ?= 300
FUZZ_BUILD   := Tests/Fuzz/.build/release
fuzz: deps
	$(SWIFT) build --package-path Tests/Fuzz -c release --sanitize=fuzzer --sanitize=address
	@mkdir -p Tests/Fuzz/crashers
	@for f in FuzzUpload FuzzArchive; do \
	  corpus=Tests/Fuzz/.build/corpus-$$f; mkdir -p $$corpus; \
	  find SampleTraces Tests/Fuzz/regressions -type f -size -64k -exec cp {} $$corpus/ \; ; \
	  for d in SampleTraces/phones/*/; do \
	    seed=$$(mktemp -d); (cd $$d && for x in $$(find . -name "*.csv"); do mkdir -p $$seed/$$(dirname $$x); head -30 $$x > $$seed/$$x; done); \
	    (cd $$seed && python3 -m zipfile -c $(CURDIR)/$$corpus/$$(basename $$d).zip $$(find . -name "*.csv" | sort)); rm -rf $$seed; \
	  done; \
	  for x in SampleTraces/phones/*.csv; do head -30 $$x | gzip -c > $$corpus/$$(basename $$x).gz; done; \
	  echo "== $$f for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/$$f $$corpus -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=Tests/Fuzz/crashers/$$f- -print_final_stats=1 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" ; \
	done; ls Tests/Fuzz/crashers

# 50 concurrent uploads against a release `serve` on loopback for LOAD_SECONDS; reports latency
# percentiles and checks that no upload failed or was lost.
LOAD_SECONDS ?= 60
load: release test-deps
	$(SWIFT) build --build-tests
	STREETBUMP_LOAD=1 STREETBUMP_LOAD_SECONDS=$(LOAD_SECONDS) STREETBUMP_BIN=$(CURDIR)/$(BIN_RELEASE) \
	  $(SWIFT) test --skip-build --filter LoadTests 2>&1 | grep -E "^load:|✔|✘|Expectation|passed|failed"

clean:
	rm -rf .build $(DEMO_DIR)

# streetbump — the two commands that matter: `make demo` and `make test`.
SWIFT        ?= swift
APT_PACKAGES := libproj-dev libsqlite3-dev pkg-config
DEMO_DIR     ?= demo-out
BIN_RELEASE  := .build/release/streetbump

.PHONY: all deps build release demo test clean

all: build

# Installs the system libraries when run as root (CI, fresh containers); otherwise says what to install.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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

# The main job end to end on the embedded default: simulate a city, detect bumps, summarise.
demo: release
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(BIN_RELEASE) simulate --out $(DEMO_DIR)/traces --trips 16 --duration 240 --seed 42
	$(BIN_RELEASE) detect $(DEMO_DIR)/traces/trip-*.csv > $(DEMO_DIR)/events.csv
	@echo; echo "events by kind (detect's per-trip guess):"; \
	  tail -n +2 $(DEMO_DIR)/events.csv | cut -d, -f7 | sort | uniq -c | sort -rn
	@echo; echo "strongest events:"; \
	  (head -1 $(DEMO_DIR)/events.csv | cut -d, -f1-8; tail -n +2 $(DEMO_DIR)/events.csv | sort -t, -k6 -gr | head -8 | cut -d, -f1-8) | column -s, -t
	@echo; echo "traces, truth.csv and events.csv are in $(DEMO_DIR)/"

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build $(DEMO_DIR)

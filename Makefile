# The two commands a newcomer needs are `make run` and `make test`; both install what is
# missing first (`make deps`).

GO         ?= go
# Fyne 2.6+ threading: goroutines touch widgets only through fyne.Do (migrated_fynedo).
# The collector's comment search needs SQLite's FTS5, which mattn/go-sqlite3 compiles in
# only with sqlite_fts5. Every go command takes both tags.
TAGS       := migrated_fynedo,sqlite_fts5
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X main.version=$(VERSION)
BIN        := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM       := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.44.0
# Debian package version; make package-test builds two to test an upgrade.
PKG_VERSION ?= 0.1.0
RUN_DIR    ?= $(CURDIR)/.run

export CGO_ENABLED := 1

.PHONY: all deps build run scale-demo test test-unit test-e2e test-packaging test-bench bench lint fmt screenshots clean package debs debs-arm64 repo package-test deps-package

all: build

deps:
	@scripts/deps.sh

deps-package:
	@scripts/deps.sh package

build: deps
	$(GO) build -tags $(TAGS) -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

run: build
	scripts/run.sh $(BIN) $(RUN_DIR)

# Three collectors on one PostgreSQL behind HAProxy, a simulated fleet through it, one
# collector killed and one restarted on the way; checks exactly once at the end (about
# a minute, loopback only). DEVICES and DURATION change the fleet.
scale-demo: build
	scripts/scale-demo.sh $(BIN)

test: deps lint test-unit test-e2e test-packaging test-bench

# The collector's tests run against SQLite and a throwaway PostgreSQL on loopback, and
# send their alert e-mails to a throwaway Mailpit SMTP server.
test-unit:
	scripts/with-postgres.sh scripts/with-mailpit.sh $(GO) test -tags $(TAGS) -count=1 ./...

# The kiosk window driven under Xvfb, enrolled, then set up on its own screen; then make run's newcomer path (dashboard sign-in, Ctrl-C);
# then e2e/ closes the loop on a detractor's case, kiosk to HQ and back (alert e-mails to Mailpit).
test-e2e: build
	scripts/e2e.sh $(BIN)
	scripts/setup-screen.sh $(BIN)
	scripts/run-test.sh $(BIN)
	NPS_E2E_BIN=$(CURDIR)/$(BIN) scripts/with-mailpit.sh $(GO) test -tags $(TAGS) -count=1 -timeout 4m ./e2e/

test-packaging: build
	scripts/check-packaging.sh $(BIN)

# Short runs of every benchmark, so none rots; the figures come from make bench.
test-bench: build
	BIN=$(BIN) scripts/bench.sh smoke

# Every benchmark at full size; writes docs/benchmarks.md (an hour or more).
bench: build
	BIN=$(BIN) scripts/bench.sh full

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags $(TAGS) ./...
	$(GO) run $(STATICCHECK) -tags $(TAGS) ./...

screenshots: build
	scripts/screenshots.sh $(BIN) docs/screenshots
	UPDATE_SCREENSHOTS=1 scripts/with-postgres.sh $(GO) test -tags $(TAGS) -count=1 -run 'TestDashboardScreenshots|TestLinksPageScreenshots' ./collector/dashboard
	UPDATE_SCREENSHOTS=1 $(GO) test -tags $(TAGS) -count=1 -run 'TestPhoneAnswersInRealChromium|TestPhoneAnswersExtraQuestionsInRealChromium' ./collector/websurvey
	UPDATE_SCREENSHOTS=1 $(GO) test -tags $(TAGS) -count=1 -run 'TestShopperAnswersOnAStrictCSPPage|TestWidgetIsAccessible' ./collector/widget

DIST ?= dist

# Packages into dist/: the .deb files of both programs for amd64 and arm64 (nfpm), and the
# signed Windows kiosk with its signed MSI. The arm64 build is a cross build (scripts/arm64.sh)
# of minutes on a cold cache, and so is the Windows one: they stay out of make test, which
# checks the packaging sources only (the MSI around a stand-in exe); make package-test lints
# the arm64 .debs and runs their programs under qemu-user (scripts/arm64-test.sh).
package: debs debs-arm64
	scripts/windows.sh $(PKG_VERSION) $(DIST)

# The apt repository (make repo, scripts/repo.sh): where kiosks reach it, and the signing
# key's GnuPG home (a development key is made there when it holds none; release builds
# set REPO_KEY and REPO_GNUPGHOME to theirs). The kiosk package ships the source and the
# public key, not enabled.
REPO       ?= $(DIST)/repo
REPO_SUITE ?= stable
REPO_URL   ?= https://apt.example.invalid/npskiosk
REPO_GNUPGHOME ?= $(CURDIR)/.repo-gnupg
export REPO_URL REPO_GNUPGHOME

# nfpm PACKAGE ARCH BINDIR: the .deb of PACKAGE for ARCH, from the binaries in BINDIR.
nfpm = PKG_VERSION=$(PKG_VERSION) PKG_ARCH=$(2) PKG_BIN=$(3) PKG_APT=$(DIST)/apt $(GO) run $(NFPM) package --config packaging/nfpm-$(1).yaml --packager deb --target $(DIST)/

debs: deps-package
	$(MAKE) --no-print-directory build VERSION=$(PKG_VERSION)
	mkdir -p $(DIST)
	scripts/repo.sh source $(DIST)/apt
	$(call nfpm,npskiosk,amd64,$(BIN))
	$(call nfpm,npscollector,amd64,$(BIN))

debs-arm64: deps-package
	scripts/arm64.sh $(PKG_VERSION) $(BIN)/linux_arm64
	mkdir -p $(DIST)
	scripts/repo.sh source $(DIST)/apt
	$(call nfpm,npskiosk,arm64,$(BIN)/linux_arm64)
	$(call nfpm,npscollector,arm64,$(BIN)/linux_arm64)

# The signed apt repository of both packages at PKG_VERSION (amd64), in REPO_SUITE of
# REPO: stable (what apt upgrade installs) or rollout (what a staged rollout offers).
repo: debs
	scripts/repo.sh publish $(REPO) $(REPO_SUITE) $(DIST)/npskiosk_$(PKG_VERSION)_amd64.deb $(DIST)/npscollector_$(PKG_VERSION)_amd64.deb

# Installs the packages into a clean Debian root and checks install, start, upgrade, purge.
package-test: deps-package
	scripts/package-test.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist $(RUN_DIR)

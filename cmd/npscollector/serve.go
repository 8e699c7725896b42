package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/appapi"
	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/tlsconfig"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/nps"
)

// serveCommands runs the collector.
var serveCommands = map[string]command{
	"serve": func(fs *flag.FlagSet) func(context.Context, env) error {
		addr := fs.String("addr", "127.0.0.1:8080", "listen address")
		metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", `listen address of /metrics (Prometheus), apart from --addr, which refuses it; "off": none`)
		loopback := fs.Bool("allow-loopback-webhooks", false, "let webhooks go to http:// URLs on this machine (tests, a local receiver)")
		lease := fs.Duration("webhook-lease", time.Minute, "how long a webhook delivery is held by this collector before another may retry it")
		digestHour := fs.Int("digest-hour", collector.DefaultDigestHour, "local hour (0-23, in each store's time zone) after which yesterday's digest goes out")
		publicURL := fs.String("public-url", os.Getenv("NPSCOLLECTOR_PUBLIC_URL"), "the collector's address as shoppers' phones reach it, e.g. https://nps.example.com: survey links start with it (default $NPSCOLLECTOR_PUBLIC_URL)")
		proxies := fs.String("trusted-proxies", os.Getenv("NPSCOLLECTOR_TRUSTED_PROXIES"), "reverse proxies in front of the collector, as IPs or CIDRs separated by commas: the web survey reads the shopper's address from their X-Forwarded-For (default $NPSCOLLECTOR_TRUSTED_PROXIES)")
		tlsCert := fs.String("tls-cert", os.Getenv("NPSCOLLECTOR_TLS_CERT"), "serve --addr over TLS (1.2 or later) with this PEM certificate (chain after it), reloaded when the file changes or on SIGHUP (default $NPSCOLLECTOR_TLS_CERT)")
		tlsKey := fs.String("tls-key", os.Getenv("NPSCOLLECTOR_TLS_KEY"), "the PEM private key of --tls-cert (default $NPSCOLLECTOR_TLS_KEY)")
		contactKeys := fs.String("contact-keys", os.Getenv("NPSCOLLECTOR_CONTACT_KEYS"), "the file of keys that open the contacts kiosks seal (npscollector contact-key create); read at start: restart after a rotation; empty: none, contacts stay sealed (default $NPSCOLLECTOR_CONTACT_KEYS)")
		minResponses := fs.Int64("min-responses", nps.DefaultMinResponses, "the fewest responses each side of a difference needs before reports call it significant, and a store before it is ranked; a report's min_n overrides it")
		retention := fs.Duration("retention-interval", collector.DefaultRetentionInterval, "how often the retention policy (npscollector retention set) is applied; it is also applied at start")
		beats := fs.Duration("heartbeat-flush", storage.DefaultHeartbeatFlush, "how often the devices' heartbeats, kept in memory, are written to the database (and at shutdown); a crash loses at most this much of their \"last seen\"")
		drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long to keep serving with /readyz failing before the listener closes, so a load balancer's health checks take this collector out of rotation first (e.g. 3s behind HAProxy checking every second); 0: close at once")
		drainTimeout := fs.Duration("drain-timeout", 10*time.Second, "on SIGTERM, how long requests in flight have to finish once the listener is closed")
		quiet := days(collector.DefaultQuietPeriod)
		fs.Var(&quiet, "quiet-period", "POST /v1/invitations invites nobody again within this long of an invitation: days (90d) or a duration (2160h)")
		mailer := smtpFlags(fs)
		return func(ctx context.Context, e env) error {
			hooks := alerts.Config{Policy: alerts.URLPolicy{AllowLoopbackHTTP: *loopback}, Lease: *lease}
			m, err := mailer()
			if err != nil {
				return err
			}
			hooks.Mailer = m
			if *digestHour < 0 || *digestHour > 23 {
				return fmt.Errorf("--digest-hour %d: give an hour from 0 to 23", *digestHour)
			}
			if *retention <= 0 {
				return fmt.Errorf("--retention-interval %s: give a positive duration such as 24h", *retention)
			}
			if *minResponses < 1 || *minResponses > collector.MaxMinResponses {
				return fmt.Errorf("--min-responses %d: give a whole number from 1 to %d", *minResponses, collector.MaxMinResponses)
			}
			e.svc.MinResponses = *minResponses
			site, err := parseSite(*publicURL, *proxies)
			if err != nil {
				return err
			}
			site.metricsAddr = *metricsAddr
			site.retentionEvery = *retention
			if *beats <= 0 {
				return fmt.Errorf("--heartbeat-flush %s: give a positive duration such as 5s", *beats)
			}
			site.heartbeatFlush = *beats
			if (*tlsCert == "") != (*tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together: give both or neither")
			}
			site.tlsCert, site.tlsKey = *tlsCert, *tlsKey
			if *drainDelay < 0 || *drainTimeout <= 0 {
				return fmt.Errorf("--drain-delay %s, --drain-timeout %s: give a delay of 0 or more and a positive timeout", *drainDelay, *drainTimeout)
			}
			site.drainDelay, site.drainTimeout = *drainDelay, *drainTimeout
			if e.svc.ContactKeys, err = loadContactKeys(*contactKeys); err != nil {
				return err
			}
			return serve(ctx, e.svc, *addr, hooks, *digestHour, site, time.Duration(quiet), e.stderr)
		}
	},
}

// site is how shoppers reach the collector: its public address and the proxies between.
type site struct {
	publicURL string // empty: links are shown with the address the dashboard is reached at
	proxies   []netip.Prefix
	// metricsAddr is where /metrics is served; "off" or empty: nowhere.
	metricsAddr string
	// tlsCert and tlsKey, when set, serve addr over TLS; the metrics stay plain HTTP.
	tlsCert, tlsKey string
	// retentionEvery is how often the retention policy is applied.
	retentionEvery time.Duration
	// heartbeatFlush is how often the heartbeats kept in memory are written.
	heartbeatFlush time.Duration
	// drainDelay is how long the collector keeps serving, not ready, after it is told
	// to stop; drainTimeout how long requests in flight then have to finish.
	drainDelay, drainTimeout time.Duration
}

func parseSite(publicURL, proxies string) (site, error) {
	var st site
	if publicURL != "" {
		u, err := websurvey.ParseBaseURL(publicURL)
		if err != nil {
			return site{}, fmt.Errorf("--public-url: %w", err)
		}
		st.publicURL = u
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return site{}, fmt.Errorf("--trusted-proxies: %q is neither an IP address nor a CIDR prefix", p)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		st.proxies = append(st.proxies, prefix.Masked())
	}
	return st, nil
}

// serve runs the API, the dashboard and the web survey until ctx ends, then drains: it
// fails /readyz for st.drainDelay while still serving, so a load balancer moves new
// requests elsewhere, closes the listener and lets requests in flight finish for up to
// st.drainTimeout (10 s when unset); the workers stop after that, the webhook worker
// handing back the deliveries it claimed and did not send.
func serve(ctx context.Context, svc *collector.Service, addr string, hooks alerts.Config, digestHour int, st site, quiet time.Duration, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	svc.Logger = log
	// The promoters' thank-you e-mails go out with the alerts; their unsubscribe links
	// start with the public address.
	hooks.DB, hooks.Logger, hooks.PublicURL = svc.DB, log, st.publicURL
	deliveries, err := alerts.New(hooks)
	if err != nil {
		return err
	}
	// Started before the listener and stopped after the server has drained, so the
	// database (closed by Main.Close) outlives both.
	deliveries.Start(ctx)
	defer deliveries.Stop()
	// Heartbeats are kept in memory and written every heartbeatFlush. The flusher outlives
	// the server's drain (deferred before it starts), so the heartbeats answered while
	// draining are written by its last flush; Main.Close flushes once more.
	beatsCtx, stopBeats := context.WithCancel(context.WithoutCancel(ctx))
	beatsDone := make(chan struct{})
	go func() { defer close(beatsDone); svc.RunHeartbeatFlusher(beatsCtx, st.heartbeatFlush) }()
	defer func() { stopBeats(); <-beatsDone }()
	svc.EventsQueued = deliveries.Wake
	checks, stopChecks := context.WithCancel(ctx)
	checksDone := make(chan struct{})
	go func() { defer close(checksDone); svc.RunDailyJobs(checks, 10*time.Minute, digestHour, log) }()
	defer func() { stopChecks(); <-checksDone }()
	// Comments are re-tagged in the background when a store's survey taxonomy changes;
	// the lease in the database keeps collectors sharing it from re-tagging a store twice.
	themesDone := make(chan struct{})
	go func() { defer close(themesDone); svc.RunThemeWorker(checks, themeRunner()) }()
	defer func() { stopChecks(); <-themesDone }()
	// The retention purge runs at start and then every retentionEvery; its lease in the
	// database keeps collectors sharing it from purging at once.
	retentionDone := make(chan struct{})
	go func() {
		defer close(retentionDone)
		svc.RunRetention(checks, themeRunner(), cmp.Or(st.retentionEvery, collector.DefaultRetentionInterval), nil)
	}()
	defer func() { stopChecks(); <-retentionDone }()
	if svc.ContactKeys != nil {
		log.Info("contact keys loaded", "current", svc.ContactKeys.Current().ID, "keys", strings.Join(svc.ContactKeys.IDs(), ","))
		// Contacts stored sealed to a key the collector did not hold then (a key file
		// restored from its backup) open now, in the background: serving need not wait.
		openDone := make(chan struct{})
		go func() {
			defer close(openDone)
			opened, still, err := svc.OpenSealedContacts(checks)
			if err != nil && checks.Err() == nil {
				log.Error("opening stored sealed contacts", "err", err, "opened", opened)
				return
			}
			if opened > 0 || still > 0 {
				log.Info("stored sealed contacts", "opened", opened, "still_sealed", still)
			}
		}()
		defer func() { stopChecks(); <-openDone }()
	} else {
		log.Info("no --contact-keys: kiosks ask for no contact, and a contact sealed elsewhere is kept sealed")
	}
	// E-mail invitations need the SMTP server and the address their links start with;
	// their pages are served either way, so invitations sent by invite still work.
	var inviter *invitations.Inviter
	if hooks.Mailer != nil && st.publicURL != "" {
		if inviter, err = invitations.New(invitations.Config{Service: svc, Mailer: hooks.Mailer, PublicURL: st.publicURL,
			QuietPeriod: quiet, Logger: log}); err != nil {
			return err
		}
	} else {
		log.Info("POST /v1/invitations is off: it needs --smtp-host, --smtp-from and --public-url")
	}
	pages, err := invitations.NewPages(invitations.PagesConfig{Service: svc, Logger: log})
	if err != nil {
		return err
	}
	guard := authguard.New(authguard.Config{DB: svc.DB, Logger: log, TrustedProxies: st.proxies})
	api := httpapi.New(httpapi.Config{Service: svc, Logger: log, Inviter: inviter, Guard: guard})
	pages.Register(api)
	apps, err := appapi.New(appapi.Config{Service: svc, Logger: log, TrustedProxies: st.proxies})
	if err != nil {
		return err
	}
	apps.Register(api)
	dashboard.New(dashboard.Config{Service: svc, Logger: log, Policy: hooks.Policy, PublicURL: st.publicURL, Guard: guard}).Register(api)
	survey, err := websurvey.New(websurvey.Config{Service: svc, Logger: log, TrustedProxies: st.proxies})
	if err != nil {
		return err
	}
	survey.Register(api)
	widgets, err := widget.New(widget.Config{Service: svc, Logger: log, TrustedProxies: st.proxies})
	if err != nil {
		return err
	}
	widgets.Register(api)
	srv := api.HTTPServer(addr)
	scheme := "http"
	var certs *tlsconfig.Reloader
	if st.tlsCert != "" {
		if certs, err = tlsconfig.New(st.tlsCert, st.tlsKey, log); err != nil {
			return err
		}
		certs.Start(ctx, tlsconfig.DefaultInterval)
		defer certs.Stop()
		srv.TLSConfig = certs.Config()
		srv.Handler = tlsconfig.HSTS(srv.Handler)
		scheme = "https"
	}
	// SIGHUP (systemctl reload) reloads the certificate; without TLS it is logged, never fatal.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if certs == nil {
					log.Info("SIGHUP: nothing to reload without --tls-cert")
					continue
				}
				certs.Trigger()
			}
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if certs != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if st.metricsAddr != "" && st.metricsAddr != "off" {
		mln, err := net.Listen("tcp", st.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (--metrics-addr): %w", st.metricsAddr, err)
		}
		msrv := &http.Server{Handler: metricsMux(api.Metrics()), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		servers, listeners = append(servers, msrv), append(listeners, mln)
	}
	log.Info("collector listening", "addr", ln.Addr().String(), "dashboard", scheme+"://"+ln.Addr().String()+"/", "version", version)
	if len(listeners) > 1 {
		log.Info("metrics listening", "metrics", "http://"+listeners[1].Addr().String()+"/metrics")
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	api.Drain()
	if failed == nil && st.drainDelay > 0 {
		log.Info("draining: /readyz fails, still serving", "for", st.drainDelay.String())
		time.Sleep(st.drainDelay)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cmp.Or(st.drainTimeout, 10*time.Second))
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	if failed != nil {
		return failed
	}
	for range servers {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// metricsMux serves the metrics at /metrics only.
func metricsMux(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return mux
}

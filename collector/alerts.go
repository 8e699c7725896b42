package collector

import (
	"context"
	"fmt"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// AddWebhook subscribes a URL to a scope's events, after checking the URL against the
// policy, and returns the subscription with its new signing secret (shown this once).
func (s *Service) AddWebhook(ctx context.Context, sub storage.Subscription, policy alerts.URLPolicy) (storage.Subscription, error) {
	if err := policy.Check(ctx, sub.URL); err != nil {
		return storage.Subscription{}, fmt.Errorf("add webhook: %w: %w", storage.ErrInvalid, err)
	}
	secret, err := alerts.NewSecret()
	if err != nil {
		return storage.Subscription{}, err
	}
	sub.Secret = secret
	return s.AddSubscription(ctx, sub)
}

// AddEmailAlert subscribes an e-mail address to a scope's events, written in lang.
func (s *Service) AddEmailAlert(ctx context.Context, sub storage.Subscription, address, lang string) (storage.Subscription, error) {
	u, err := alerts.EmailURL(address, lang)
	if err != nil {
		return storage.Subscription{}, fmt.Errorf("add e-mail alert: %w: %w", storage.ErrInvalid, err)
	}
	sub.URL = u
	// E-mail needs no signature; the column holds one anyway so a subscription is one shape.
	if sub.Secret, err = alerts.NewSecret(); err != nil {
		return storage.Subscription{}, err
	}
	return s.AddSubscription(ctx, sub)
}

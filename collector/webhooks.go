package collector

import (
	"context"
	"fmt"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/webhooks"
)

// AddWebhook subscribes a URL to a scope's events, after checking the URL against the
// policy, and returns the subscription with its new signing secret (shown this once).
func (s *Service) AddWebhook(ctx context.Context, sub storage.Subscription, policy webhooks.URLPolicy) (storage.Subscription, error) {
	if err := policy.Check(ctx, sub.URL); err != nil {
		return storage.Subscription{}, fmt.Errorf("add webhook: %w: %w", storage.ErrInvalid, err)
	}
	secret, err := webhooks.NewSecret()
	if err != nil {
		return storage.Subscription{}, err
	}
	sub.Secret = secret
	return s.AddSubscription(ctx, sub)
}

package widget

import (
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// Embed is what a shop pastes into its pages for a site key: the script tag, the
// iframe alternative, and the Content-Security-Policy sources its policy needs.
type Embed struct {
	Script string `json:"script"` // the <script> tag, with placeholders for the order id and segment
	IFrame string `json:"iframe"` // the <iframe> tag, for pages that cannot take a script
	// CSP are the directives a host page with a Content-Security-Policy adds the
	// collector to: script-src, connect-src and style-src for the script; frame-src for
	// the iframe.
	CSP []string `json:"csp"`
}

// Snippet is the embed code of a site key whose collector shoppers reach at base (the
// public URL, as serve --public-url takes it).
func Snippet(base string, l storage.Link) Embed {
	base = strings.TrimRight(base, "/")
	attr := html.EscapeString
	script := `<script src="` + attr(base) + `/w/widget.js" data-key="` + attr(l.Code) + `"`
	frame := url.Values{"key": {l.Code}}
	if l.Touchpoint != "" {
		script += ` data-touchpoint="` + attr(l.Touchpoint) + `"`
	}
	script += ` data-order-id="ORDER_ID" data-segment="SEGMENT" defer></script>`
	origin := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return Embed{
		Script: script,
		IFrame: fmt.Sprintf(`<iframe src="%s/w/frame?%s&amp;order=ORDER_ID&amp;lang=en" title="Feedback" width="400" height="480"></iframe>`,
			attr(base), attr(frame.Encode())),
		CSP: []string{"script-src " + origin, "connect-src " + origin, "style-src " + origin, "frame-src " + origin},
	}
}

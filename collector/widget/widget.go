// Package widget is the website widget: the small script (/w/widget.js) and stylesheet
// a shop embeds after checkout with a site key, the JSON endpoints it talks to (the
// store's survey in the page's language, and the answers it posts), the iframe
// alternative (/w/frame), and the embed code a key is pasted as.
//
// The endpoints answer cross-origin requests only from the site key's own origins,
// never "*", limit each key's and each client's rate and every body's size, and store
// through the collector's service with the same rules as every other channel.
package widget

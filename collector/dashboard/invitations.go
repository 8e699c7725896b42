package dashboard

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// registerInvitations adds the Invitations page: what became of the e-mail invitations
// sent in the period, per store and touchpoint, within the reader's stores.
func (d *Dashboard) registerInvitations(mux Router) {
	d.pages["invitations"] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/invitations.html"))
	mux.Handle("GET /invitations", secure(d.signedIn(d.invitations)))
}

type invitationsData struct {
	Rows  []storage.InvitationStat
	Total storage.InvitationStat
}

// Percent writes a share of 0 to 1 as a whole percentage.
func (invitationsData) Percent(share float64) string { return fmt.Sprintf("%.0f %%", share*100) }

func (d *Dashboard) invitations(w http.ResponseWriter, r *http.Request, p page) {
	f := p.Filter
	f.Channel = "" // every invitation is the email channel
	rows, err := d.svc.InvitationStats(r.Context(), f)
	if err != nil {
		d.fail(w, err)
		return
	}
	data := invitationsData{Rows: rows}
	for _, s := range rows {
		data.Total.Invited += s.Invited
		data.Total.Answered += s.Answered
		data.Total.Unsubscribed += s.Unsubscribed
		data.Total.Failed += s.Failed
	}
	p.Title, p.Page, p.Data = "Invitations", "invitations", data
	d.render(w, http.StatusOK, "invitations", p)
}

package alerts

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// thanksTexts is a promoter's thank-you e-mail, by language; {store}, {score}, {url}
// and {unsubscribe} are filled in.
var thanksTexts = map[string]map[string]string{
	"en": {
		"subject":     "Thank you from {store}",
		"greeting":    "Hello,",
		"body":        "Thank you for scoring {store} {score} out of 10. It means a lot to the team, and we have passed it on.",
		"review":      "If you have a minute, would you tell others too? Leave a review here:",
		"review.link": "Write a review",
		"signature":   "The team at {store}",
		"why":         "You are receiving this e-mail because you left your address with your answer and agreed to be contacted. We will not write again about this answer.",
		"unsubscribe": "No more e-mails from us:",
		"unsub.link":  "Unsubscribe",
	},
	"es": {
		"subject":     "Gracias de parte de {store}",
		"greeting":    "Hola:",
		"body":        "Gracias por darle a {store} un {score} sobre 10. Significa mucho para el equipo, y se lo hemos hecho llegar.",
		"review":      "Si tiene un minuto, ¿se lo contaría también a otros? Deje su opinión aquí:",
		"review.link": "Escribir una opinión",
		"signature":   "El equipo de {store}",
		"why":         "Recibe este correo porque dejó su dirección con su respuesta y aceptó que le contactáramos. No volveremos a escribirle sobre esta respuesta.",
		"unsubscribe": "No recibir más correos nuestros:",
		"unsub.link":  "Darse de baja",
	},
	"fr": {
		"subject":     "Merci de la part de {store}",
		"greeting":    "Bonjour,",
		"body":        "Merci d'avoir donné la note de {score} sur 10 à {store}. Cela compte beaucoup pour l'équipe, et nous le lui avons transmis.",
		"review":      "Si vous avez une minute, le diriez-vous aussi à d'autres ? Laissez un avis ici :",
		"review.link": "Écrire un avis",
		"signature":   "L'équipe de {store}",
		"why":         "Vous recevez cet e-mail car vous avez laissé votre adresse avec votre réponse et accepté d'être contacté. Nous ne vous écrirons plus au sujet de cette réponse.",
		"unsubscribe": "Ne plus recevoir d'e-mails de notre part :",
		"unsub.link":  "Se désabonner",
	},
	"de": {
		"subject":     "Danke von {store}",
		"greeting":    "Hallo,",
		"body":        "Danke, dass Sie {store} mit {score} von 10 bewertet haben. Das bedeutet dem Team viel, und wir haben es weitergegeben.",
		"review":      "Wenn Sie eine Minute haben: Würden Sie es auch anderen sagen? Hier können Sie eine Bewertung schreiben:",
		"review.link": "Bewertung schreiben",
		"signature":   "Ihr Team von {store}",
		"why":         "Sie erhalten diese E-Mail, weil Sie mit Ihrer Antwort Ihre Adresse hinterlassen und einer Kontaktaufnahme zugestimmt haben. Zu dieser Antwort schreiben wir Ihnen nicht noch einmal.",
		"unsubscribe": "Keine E-Mails mehr von uns:",
		"unsub.link":  "Abmelden",
	},
}

const thanksText = `{{.T.greeting}}

{{.T.body}}
{{if .ReviewURL}}
{{.T.review}}
{{.ReviewURL}}
{{end}}
{{.T.signature}}

--
{{.T.why}}
{{.T.unsubscribe}} {{.Unsubscribe}}
`

const thanksHTML = `<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font:16px/1.5 sans-serif;color:#1a1a1a;max-width:36em">
<p>{{.T.greeting}}</p>
<p>{{.T.body}}</p>
{{if .ReviewURL}}<p>{{.T.review}}</p>
<p><a href="{{.ReviewURL}}" style="display:inline-block;padding:.6em 1.2em;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:6px">{{index .T "review.link"}}</a></p>
{{end}}<p>{{.T.signature}}</p>
<hr>
<p style="font-size:13px;color:#555">{{.T.why}}<br>{{.T.unsubscribe}} <a href="{{.Unsubscribe}}" style="color:#555">{{index .T "unsub.link"}}</a></p>
</body></html>
`

var (
	thanksTextBody = texttemplate.Must(texttemplate.New("thanks").Parse(thanksText))
	thanksHTMLBody = htmltemplate.Must(htmltemplate.New("thanks").Parse(thanksHTML))
)

// ThanksMessage writes a promoter's thank-you e-mail in its language (English when it
// has none of the four), with the review page when the rule names one and the link that
// unsubscribes the address, under publicURL, also in List-Unsubscribe.
func ThanksMessage(ty storage.ThankYou, publicURL string) (Message, error) {
	lang := ty.Language
	words, ok := thanksTexts[lang]
	if !ok {
		lang, words = "en", thanksTexts["en"]
	}
	fill := strings.NewReplacer("{store}", ty.StoreName, "{score}", strconv.Itoa(ty.Score))
	t := make(map[string]string, len(words))
	for k, v := range words {
		t[k] = fill.Replace(v)
	}
	unsubscribe := strings.TrimRight(publicURL, "/") + "/u/" + ty.Token
	data := struct {
		Lang, Subject, ReviewURL, Unsubscribe string
		T                                     map[string]string
	}{lang, t["subject"], ty.ReviewURL, unsubscribe, t}
	var text, html bytes.Buffer
	if err := thanksTextBody.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("thank-you e-mail: %w", err)
	}
	if err := thanksHTMLBody.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("thank-you e-mail: %w", err)
	}
	return Message{To: ty.Address, Subject: t["subject"], Text: text.String(), HTML: html.String(),
		// Stable across attempts, so a mailbox can drop a repeat after a lost reply.
		MessageID:       "thanks." + ty.ID + "@npscollector",
		ListUnsubscribe: unsubscribe,
		Headers:         map[string]string{"X-NPS-Thank-You-Id": ty.ID}}, nil
}

// sendThankYous claims the thank-you e-mails due now, sends them and records what
// became of each; it returns how many it tried. Without a mailer or a public address
// (which the unsubscribe link needs) it leaves them queued for a collector that has
// both.
func (w *Worker) sendThankYous(ctx context.Context) (int, error) {
	if w.cfg.Mailer == nil || w.cfg.PublicURL == "" {
		return 0, nil
	}
	now := w.cfg.Now()
	tys, err := w.cfg.DB.ClaimThankYous(ctx, 20, now.Add(w.cfg.Lease), now.Add(-w.cfg.GiveUpAfter))
	if err != nil {
		return 0, err
	}
	for _, ty := range tys {
		a := w.sendThankYou(ctx, ty)
		if ctx.Err() != nil {
			return 0, ctx.Err() // shutting down: the lease runs out and it goes again
		}
		if err := w.cfg.DB.RecordThankYou(ctx, ty, a); err != nil {
			return 0, err
		}
		if a.Err != "" {
			w.cfg.Logger.Warn("thank-you e-mail failed", "thank_you", ty.ID, "store", ty.StoreID,
				"attempt", ty.Attempts+1, "err", a.Err, "retry", a.Retry)
		} else {
			w.cfg.Logger.Info("thank-you e-mail sent", "thank_you", ty.ID, "store", ty.StoreID, "lang", ty.Language)
		}
	}
	return len(tys), nil
}

func (w *Worker) sendThankYou(ctx context.Context, ty storage.ThankYou) storage.Attempt {
	start := w.cfg.Now()
	var a storage.Attempt
	msg, err := ThanksMessage(ty, w.cfg.PublicURL)
	if err == nil {
		err = w.cfg.Mailer.SendMessage(ctx, msg)
	}
	a.Duration = w.cfg.Now().Sub(start)
	if err != nil {
		a.Err = err.Error()
		if next := w.cfg.Now().Add(w.cfg.Backoff(ty.Attempts + 1)); next.Sub(ty.CreatedAt) < w.cfg.GiveUpAfter {
			a.Retry = next
		}
	}
	return a
}

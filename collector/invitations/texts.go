package invitations

import (
	"fmt"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/assets"
)

// texts is what the e-mails and pages say, by language. The question, its ends, the
// follow-up and the thanks are the kiosk's own words (assets/translations), so the
// survey reads the same on every channel; the rest is here.
var texts = map[string]map[string]string{
	"en": {
		"mail.subject":           "{store}: how did we do?",
		"mail.intro":             "Thank you for choosing {store}. One question, one click:",
		"mail.order":             "About your order {order}.",
		"mail.expires":           "This invitation is for you alone and takes answers until {date}.",
		"mail.ignore":            "If you would rather not answer, simply ignore this e-mail.",
		"mail.unsubscribe":       "No more survey invitations from us:",
		"unsubscribe":            "Unsubscribe",
		"page.choose":            "Your score, from 0 to 10",
		"page.send":              "Send my score",
		"page.previous":          "Your answer so far: {score}. Send another score to change it.",
		"page.saved":             "Thank you, your score is saved. Anything to add?",
		"page.thanks.change":     "Changed your mind? Any score in the e-mail updates your answer until {date}.",
		"page.expired.title":     "This invitation has expired",
		"page.expired.body":      "It took answers until {date}. Thank you all the same.",
		"page.unsub.body":        "We will not send survey invitations or thank-you e-mails to this address again.",
		"page.unsub.done":        "You are unsubscribed.",
		"page.error.consent":     "To be contacted, tick the box that allows it, or leave the contact empty.",
		"page.error.comment":     "The comment is too long: at most {n} characters.",
		"page.error.invalid":     "Please check your answer.",
		"page.error.reasons":     "Please choose at most {n} reasons.",
		"page.error.unavailable": "Sorry, your answer could not be saved just now. Please try again in a minute.",
	},
	"es": {
		"mail.subject":           "{store}: ¿qué tal lo hicimos?",
		"mail.intro":             "Gracias por elegir {store}. Una pregunta, un clic:",
		"mail.order":             "Sobre su pedido {order}.",
		"mail.expires":           "Esta invitación es solo para usted y admite respuestas hasta el {date}.",
		"mail.ignore":            "Si prefiere no responder, simplemente ignore este correo.",
		"mail.unsubscribe":       "No recibir más invitaciones a encuestas:",
		"unsubscribe":            "Darse de baja",
		"page.choose":            "Su puntuación, de 0 a 10",
		"page.send":              "Enviar mi puntuación",
		"page.previous":          "Su respuesta hasta ahora: {score}. Envíe otra puntuación para cambiarla.",
		"page.saved":             "Gracias, su puntuación está guardada. ¿Algo que añadir?",
		"page.thanks.change":     "¿Ha cambiado de opinión? Cualquier puntuación del correo actualiza su respuesta hasta el {date}.",
		"page.expired.title":     "Esta invitación ha caducado",
		"page.expired.body":      "Admitía respuestas hasta el {date}. Gracias de todos modos.",
		"page.unsub.body":        "No volveremos a enviar invitaciones a encuestas ni correos de agradecimiento a esta dirección.",
		"page.unsub.done":        "Se ha dado de baja.",
		"page.error.consent":     "Para que le contactemos, marque la casilla que lo permite o deje el contacto vacío.",
		"page.error.comment":     "El comentario es demasiado largo: {n} caracteres como máximo.",
		"page.error.invalid":     "Revise su respuesta, por favor.",
		"page.error.reasons":     "Elija como máximo {n} motivos.",
		"page.error.unavailable": "Lo sentimos, no se pudo guardar su respuesta. Inténtelo de nuevo en un minuto.",
	},
	"fr": {
		"mail.subject":           "{store} : qu'en avez-vous pensé ?",
		"mail.intro":             "Merci d'avoir choisi {store}. Une question, un clic :",
		"mail.order":             "Au sujet de votre commande {order}.",
		"mail.expires":           "Cette invitation vous est personnelle et reste ouverte jusqu'au {date}.",
		"mail.ignore":            "Si vous préférez ne pas répondre, ignorez simplement cet e-mail.",
		"mail.unsubscribe":       "Ne plus recevoir d'invitations à nos enquêtes :",
		"unsubscribe":            "Se désabonner",
		"page.choose":            "Votre note, de 0 à 10",
		"page.send":              "Envoyer ma note",
		"page.previous":          "Votre réponse jusqu'ici : {score}. Envoyez une autre note pour la modifier.",
		"page.saved":             "Merci, votre note est enregistrée. Quelque chose à ajouter ?",
		"page.thanks.change":     "Vous avez changé d'avis ? Chaque note de l'e-mail modifie votre réponse jusqu'au {date}.",
		"page.expired.title":     "Cette invitation a expiré",
		"page.expired.body":      "Elle était ouverte jusqu'au {date}. Merci quand même.",
		"page.unsub.body":        "Nous n'enverrons plus d'invitations à des enquêtes ni d'e-mails de remerciement à cette adresse.",
		"page.unsub.done":        "Vous êtes désabonné.",
		"page.error.consent":     "Pour être contacté, cochez la case qui l'autorise, ou laissez le contact vide.",
		"page.error.comment":     "Le commentaire est trop long : {n} caractères au maximum.",
		"page.error.invalid":     "Veuillez vérifier votre réponse.",
		"page.error.reasons":     "Choisissez au plus {n} raisons.",
		"page.error.unavailable": "Désolé, votre réponse n'a pas pu être enregistrée. Réessayez dans une minute.",
	},
	"de": {
		"mail.subject":           "{store}: Wie waren wir?",
		"mail.intro":             "Danke, dass Sie {store} gewählt haben. Eine Frage, ein Klick:",
		"mail.order":             "Zu Ihrer Bestellung {order}.",
		"mail.expires":           "Diese Einladung gilt nur für Sie und nimmt Antworten bis zum {date} an.",
		"mail.ignore":            "Wenn Sie nicht antworten möchten, ignorieren Sie diese E-Mail einfach.",
		"mail.unsubscribe":       "Keine Umfrage-Einladungen mehr von uns:",
		"unsubscribe":            "Abmelden",
		"page.choose":            "Ihre Bewertung, von 0 bis 10",
		"page.send":              "Bewertung senden",
		"page.previous":          "Ihre bisherige Antwort: {score}. Senden Sie eine andere Bewertung, um sie zu ändern.",
		"page.saved":             "Danke, Ihre Bewertung ist gespeichert. Möchten Sie noch etwas hinzufügen?",
		"page.thanks.change":     "Meinung geändert? Jede Bewertung in der E-Mail ändert Ihre Antwort bis zum {date}.",
		"page.expired.title":     "Diese Einladung ist abgelaufen",
		"page.expired.body":      "Sie nahm Antworten bis zum {date} an. Trotzdem vielen Dank.",
		"page.unsub.body":        "Wir senden keine Umfrage-Einladungen und keine Dankes-E-Mails mehr an diese Adresse.",
		"page.unsub.done":        "Sie sind abgemeldet.",
		"page.error.consent":     "Damit wir Sie kontaktieren dürfen, setzen Sie das Häkchen, oder lassen Sie den Kontakt leer.",
		"page.error.comment":     "Der Kommentar ist zu lang: höchstens {n} Zeichen.",
		"page.error.invalid":     "Bitte prüfen Sie Ihre Antwort.",
		"page.error.reasons":     "Bitte wählen Sie höchstens {n} Gründe.",
		"page.error.unavailable": "Ihre Antwort konnte gerade nicht gespeichert werden. Bitte versuchen Sie es in einer Minute erneut.",
	},
}

// kioskKeys are the kiosk's words the e-mails and pages use.
var kioskKeys = []string{"rating.question", "rating.low", "rating.high", "followup.question", "followup.your_score",
	"followup.change_score", "followup.comment", "followup.consent", "followup.contact", "followup.submit",
	"followup.skip", "thanks.title", "thanks.body"}

// words is one language's texts: this package's and the kiosk's.
type words map[string]string

// loadWords merges the kiosk's translations into this package's texts, and fails if a
// language lacks a text, so a missing translation stops the collector at start-up
// rather than showing a key to a customer.
func loadWords() (map[string]words, error) {
	kiosk, err := assets.Translations()
	if err != nil {
		return nil, err
	}
	out := map[string]words{}
	for lang, own := range texts {
		w := words{}
		for k, v := range own {
			w[k] = v
		}
		for _, k := range kioskKeys {
			v := kiosk[lang][k]
			if v == "" {
				return nil, fmt.Errorf("invitation texts: %s has no %q in assets/translations", lang, k)
			}
			w[k] = v
		}
		for k := range texts["en"] {
			if w[k] == "" {
				return nil, fmt.Errorf("invitation texts: %s has no %q", lang, k)
			}
		}
		out[lang] = w
	}
	return out, nil
}

// T returns a text with its {placeholders} filled: pairs of name and value.
func (w words) T(key string, pairs ...string) string {
	s := w[key]
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// date writes a day as readers of the language expect it.
func date(lang string, t time.Time) string {
	switch lang {
	case "de":
		return t.Format("02.01.2006")
	case "fr", "es":
		return t.Format("02/01/2006")
	}
	return t.Format("2 Jan 2006")
}

package widget

import (
	"fmt"
	"slices"
	"strings"

	"github.com/npskiosk/npskiosk/assets"
)

// Languages are the languages the widget speaks: the kiosk's four. A store's survey may
// list fewer; the widget then speaks the one of those closest to the host page's.
var Languages = []string{"en", "es", "fr", "de"}

// fallback is the language of a message missing in another.
const fallback = "en"

// kioskKeys are the messages the widget shares with the kiosk's screens (package
// assets), so a shopper reads the same words in the shop, on the phone and online.
var kioskKeys = []string{
	"rating.question", "rating.low", "rating.high", "followup.question", "followup.comment",
	"followup.submit", "followup.skip", "followup.more_questions", "followup.choose_any",
	"followup.rating_scale", "followup.answer", "thanks.title", "thanks.body",
}

// ownTexts are the messages only the widget has.
var ownTexts = map[string]map[string]string{
	"en": {
		"close":    "Close",
		"survey":   "Feedback survey",
		"ends":     "0 means not at all likely, 10 extremely likely.",
		"saved":    "Thank you, your score is saved. Anything to add? Everything below is optional.",
		"error":    "Sorry, your answer could not be sent. Please try again.",
		"expired":  "This answer can no longer be changed. Thank you for your feedback!",
		"rating":   "{n} of 5",
		"closed":   "This survey has closed. Thank you for wanting to tell us.",
		"notfound": "This survey could not be found.",
	},
	"es": {
		"close":    "Cerrar",
		"survey":   "Encuesta de opinión",
		"ends":     "0 significa nada probable, 10 muy probable.",
		"saved":    "Gracias, su puntuación está guardada. ¿Algo más? Todo lo que sigue es opcional.",
		"error":    "Lo sentimos, no se pudo enviar su respuesta. Inténtelo de nuevo.",
		"expired":  "Esta respuesta ya no se puede cambiar. ¡Gracias por su opinión!",
		"rating":   "{n} de 5",
		"closed":   "Esta encuesta ha terminado. Gracias por querer contárnoslo.",
		"notfound": "No se encontró esta encuesta.",
	},
	"fr": {
		"close":    "Fermer",
		"survey":   "Questionnaire de satisfaction",
		"ends":     "0 signifie pas du tout probable, 10 très probable.",
		"saved":    "Merci, votre note est enregistrée. Autre chose ? Tout ce qui suit est facultatif.",
		"error":    "Désolé, votre réponse n'a pas pu être envoyée. Veuillez réessayer.",
		"expired":  "Cette réponse ne peut plus être modifiée. Merci pour votre avis !",
		"rating":   "{n} sur 5",
		"closed":   "Ce questionnaire est clos. Merci de vouloir nous le dire.",
		"notfound": "Ce questionnaire est introuvable.",
	},
	"de": {
		"close":    "Schließen",
		"survey":   "Feedback-Umfrage",
		"ends":     "0 heißt äußerst unwahrscheinlich, 10 äußerst wahrscheinlich.",
		"saved":    "Danke, Ihre Bewertung ist gespeichert. Möchten Sie noch etwas ergänzen? Alles Weitere ist freiwillig.",
		"error":    "Entschuldigung, Ihre Antwort konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
		"expired":  "Diese Antwort kann nicht mehr geändert werden. Vielen Dank für Ihr Feedback!",
		"rating":   "{n} von 5",
		"closed":   "Diese Umfrage ist beendet. Danke, dass Sie uns etwas sagen möchten.",
		"notfound": "Diese Umfrage wurde nicht gefunden.",
	},
}

// catalog holds the widget's messages in every language it speaks.
type catalog map[string]map[string]string

// newCatalog joins the kiosk's shared messages with the widget's own.
func newCatalog() (catalog, error) {
	kiosk, err := assets.Translations()
	if err != nil {
		return nil, err
	}
	c := catalog{}
	for _, lang := range Languages {
		msgs := map[string]string{}
		for _, k := range kioskKeys {
			if m, ok := kiosk[lang][k]; ok {
				msgs[k] = m
			}
		}
		for k, m := range ownTexts[lang] {
			msgs[k] = m
		}
		c[lang] = msgs
	}
	for _, k := range kioskKeys {
		if c[fallback][k] == "" {
			return nil, fmt.Errorf("widget: the kiosk's %s translations lack %q", fallback, k)
		}
	}
	return c, nil
}

// T returns the message key in lang with {name} placeholders replaced (args are name,
// value pairs), falling back to English, then to the key.
func (c catalog) T(lang, key string, args ...string) string {
	msg, ok := c[lang][key]
	if !ok {
		if msg, ok = c[fallback][key]; !ok {
			msg = key
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		msg = strings.ReplaceAll(msg, "{"+args[i]+"}", args[i+1])
	}
	return msg
}

// offered is the languages a store's survey lists that the widget speaks, in the
// survey's order; English when none.
func offered(surveyLangs []string) []string {
	var out []string
	for _, l := range surveyLangs {
		l = strings.ToLower(l)
		if slices.Contains(Languages, l) && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []string{fallback}
	}
	return out
}

// pickLanguage is the language to speak on a page in lang (a BCP 47 tag such as de-CH,
// from <html lang> or data-lang), else the first that accept (an Accept-Language
// header) names, among those offered; else the store's first.
func pickLanguage(lang, accept string, offer []string) string {
	base := func(tag string) string {
		tag, _, _ = strings.Cut(strings.TrimSpace(tag), ";")
		b, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		b, _, _ = strings.Cut(b, "_")
		return b
	}
	if b := base(lang); slices.Contains(offer, b) {
		return b
	}
	for i, part := range strings.Split(accept, ",") {
		if i == 16 {
			break
		}
		if b := base(part); slices.Contains(offer, b) && !strings.Contains(part, "q=0,") && !strings.HasSuffix(strings.TrimSpace(part), "q=0") {
			return b
		}
	}
	return offer[0]
}

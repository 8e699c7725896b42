package websurvey

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/npskiosk/npskiosk/assets"
)

// Languages are the languages the web survey speaks: the kiosk's four. A store's survey
// may list fewer; one it lists that is not here is left out of the switch.
var Languages = []string{"en", "es", "fr", "de"}

// fallback is the language of a message missing in another.
const fallback = "en"

// kioskKeys are the messages the web survey shares with the kiosk's screens (the
// translations in package assets), so that a shopper reads the same question on the
// till and on the phone.
var kioskKeys = []string{
	"language.name", "rating.question", "rating.low", "rating.high",
	"followup.question", "followup.your_score", "followup.change_score", "followup.comment",
	"followup.consent", "followup.contact", "followup.submit", "followup.skip",
	"followup.choose_any", "followup.rating_scale",
	"thanks.title", "thanks.body",
}

// webTexts are the messages only the web survey and its posters have.
var webTexts = map[string]map[string]string{
	"en": {
		"page.title":             "Your feedback · {store}",
		"language":               "Language",
		"send":                   "Send",
		"score.ends":             "0 means not at all likely, 10 extremely likely.",
		"error.score":            "Choose a score from 0 to 10, then Send.",
		"followup.saved":         "Your score is saved. Anything to add? Everything below is optional.",
		"followup.reasons":       "Choose any that apply.",
		"followup.contact_about": "Only to follow up on this feedback; never for marketing.",
		"error.comment_long":     "The comment is too long: at most {max} characters, please.",
		"error.contact_long":     "The contact is too long: at most {max} characters.",
		"error.consent":          "Tick the box to let us contact you, or leave the contact empty.",
		"error.reasons":          "Choose at most {max} reasons.",
		"error.answer_long":      "An answer is too long: at most {max} characters, please.",
		"thanks.close":           "You can close this page now.",
		"notfound.title":         "Survey not found",
		"notfound.body":          "Check the address on the poster or receipt, or scan the code again.",
		"closed.title":           "This survey has closed",
		"closed.body":            "Thank you for wanting to tell us. This link no longer takes answers.",
		"bad.title":              "That did not work",
		"bad.body":               "The answer could not be read. Please go back and try again.",
		"toolarge.body":          "The answer was too long to send. Please shorten it and try again.",
		"busy.title":             "Too many answers at once",
		"busy.body":              "Please wait a minute, then try again.",
		"unavailable.title":      "Sorry, something went wrong",
		"unavailable.body":       "Your answer could not be saved just now. Please try again in a moment.",
		"expired.title":          "This answer can no longer be changed",
		"expired.body":           "Your score was kept. Thank you for your feedback!",
		"back":                   "Back to the survey",
		"poster.call":            "Scan with your phone's camera to answer",
		"poster.or":              "or open",
	},
	"es": {
		"page.title":             "Su opinión · {store}",
		"language":               "Idioma",
		"send":                   "Enviar",
		"score.ends":             "0 significa nada probable, 10 muy probable.",
		"error.score":            "Elija una puntuación de 0 a 10 y pulse Enviar.",
		"followup.saved":         "Su puntuación está guardada. ¿Algo más? Todo lo que sigue es opcional.",
		"followup.reasons":       "Elija las que correspondan.",
		"followup.contact_about": "Solo para responder a esta opinión; nunca para publicidad.",
		"error.comment_long":     "El comentario es demasiado largo: como máximo {max} caracteres.",
		"error.contact_long":     "El contacto es demasiado largo: como máximo {max} caracteres.",
		"error.consent":          "Marque la casilla para que podamos contactarle, o deje el contacto vacío.",
		"error.reasons":          "Elija como máximo {max} motivos.",
		"error.answer_long":      "Una respuesta es demasiado larga: como máximo {max} caracteres.",
		"thanks.close":           "Ya puede cerrar esta página.",
		"notfound.title":         "Encuesta no encontrada",
		"notfound.body":          "Compruebe la dirección del cartel o del tique, o escanee el código de nuevo.",
		"closed.title":           "Esta encuesta ha terminado",
		"closed.body":            "Gracias por querer contárnoslo. Este enlace ya no acepta respuestas.",
		"bad.title":              "Algo no ha funcionado",
		"bad.body":               "No se pudo leer la respuesta. Vuelva atrás e inténtelo de nuevo.",
		"toolarge.body":          "La respuesta era demasiado larga. Acórtela e inténtelo de nuevo.",
		"busy.title":             "Demasiadas respuestas a la vez",
		"busy.body":              "Espere un minuto y vuelva a intentarlo.",
		"unavailable.title":      "Lo sentimos, algo ha fallado",
		"unavailable.body":       "No se pudo guardar su respuesta. Inténtelo de nuevo en un momento.",
		"expired.title":          "Esta respuesta ya no se puede cambiar",
		"expired.body":           "Su puntuación se ha guardado. ¡Gracias por su opinión!",
		"back":                   "Volver a la encuesta",
		"poster.call":            "Escanee con la cámara de su teléfono para responder",
		"poster.or":              "o abra",
	},
	"fr": {
		"page.title":             "Votre avis · {store}",
		"language":               "Langue",
		"send":                   "Envoyer",
		"score.ends":             "0 signifie pas du tout probable, 10 très probable.",
		"error.score":            "Choisissez une note de 0 à 10, puis Envoyer.",
		"followup.saved":         "Votre note est enregistrée. Autre chose ? Tout ce qui suit est facultatif.",
		"followup.reasons":       "Choisissez celles qui s'appliquent.",
		"followup.contact_about": "Uniquement pour donner suite à cet avis ; jamais pour de la publicité.",
		"error.comment_long":     "Le commentaire est trop long : {max} caractères au plus.",
		"error.contact_long":     "Le contact est trop long : {max} caractères au plus.",
		"error.consent":          "Cochez la case pour que nous puissions vous contacter, ou laissez le contact vide.",
		"error.reasons":          "Choisissez au plus {max} raisons.",
		"error.answer_long":      "Une réponse est trop longue : {max} caractères au maximum.",
		"thanks.close":           "Vous pouvez fermer cette page.",
		"notfound.title":         "Questionnaire introuvable",
		"notfound.body":          "Vérifiez l'adresse sur l'affiche ou le ticket, ou scannez de nouveau le code.",
		"closed.title":           "Ce questionnaire est clos",
		"closed.body":            "Merci de vouloir nous le dire. Ce lien n'accepte plus de réponses.",
		"bad.title":              "Cela n'a pas fonctionné",
		"bad.body":               "La réponse n'a pas pu être lue. Revenez en arrière et réessayez.",
		"toolarge.body":          "La réponse était trop longue. Raccourcissez-la et réessayez.",
		"busy.title":             "Trop de réponses à la fois",
		"busy.body":              "Patientez une minute, puis réessayez.",
		"unavailable.title":      "Désolé, un problème est survenu",
		"unavailable.body":       "Votre réponse n'a pas pu être enregistrée. Réessayez dans un instant.",
		"expired.title":          "Cette réponse ne peut plus être modifiée",
		"expired.body":           "Votre note a été conservée. Merci pour votre avis !",
		"back":                   "Retour au questionnaire",
		"poster.call":            "Scannez avec l'appareil photo de votre téléphone pour répondre",
		"poster.or":              "ou ouvrez",
	},
	"de": {
		"page.title":             "Ihre Meinung · {store}",
		"language":               "Sprache",
		"send":                   "Senden",
		"score.ends":             "0 heißt äußerst unwahrscheinlich, 10 äußerst wahrscheinlich.",
		"error.score":            "Wählen Sie eine Bewertung von 0 bis 10 und tippen Sie auf Senden.",
		"followup.saved":         "Ihre Bewertung ist gespeichert. Möchten Sie noch etwas ergänzen? Alles Weitere ist freiwillig.",
		"followup.reasons":       "Wählen Sie alle zutreffenden.",
		"followup.contact_about": "Nur, um auf dieses Feedback zu antworten; nie für Werbung.",
		"error.comment_long":     "Der Kommentar ist zu lang: höchstens {max} Zeichen, bitte.",
		"error.contact_long":     "Die Kontaktangabe ist zu lang: höchstens {max} Zeichen.",
		"error.consent":          "Setzen Sie das Häkchen, damit wir Sie kontaktieren dürfen, oder lassen Sie den Kontakt leer.",
		"error.reasons":          "Wählen Sie höchstens {max} Gründe.",
		"error.answer_long":      "Eine Antwort ist zu lang: höchstens {max} Zeichen.",
		"thanks.close":           "Sie können diese Seite jetzt schließen.",
		"notfound.title":         "Umfrage nicht gefunden",
		"notfound.body":          "Prüfen Sie die Adresse auf dem Plakat oder Kassenbon, oder scannen Sie den Code erneut.",
		"closed.title":           "Diese Umfrage ist beendet",
		"closed.body":            "Danke, dass Sie uns etwas sagen möchten. Dieser Link nimmt keine Antworten mehr an.",
		"bad.title":              "Das hat nicht geklappt",
		"bad.body":               "Die Antwort konnte nicht gelesen werden. Bitte gehen Sie zurück und versuchen Sie es erneut.",
		"toolarge.body":          "Die Antwort war zu lang. Bitte kürzen Sie sie und versuchen Sie es erneut.",
		"busy.title":             "Zu viele Antworten auf einmal",
		"busy.body":              "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
		"unavailable.title":      "Entschuldigung, etwas ist schiefgegangen",
		"unavailable.body":       "Ihre Antwort konnte gerade nicht gespeichert werden. Bitte versuchen Sie es gleich noch einmal.",
		"expired.title":          "Diese Antwort kann nicht mehr geändert werden",
		"expired.body":           "Ihre Bewertung wurde gespeichert. Vielen Dank für Ihr Feedback!",
		"back":                   "Zurück zur Umfrage",
		"poster.call":            "Mit der Handykamera scannen und antworten",
		"poster.or":              "oder öffnen Sie",
	},
}

// catalog holds the web survey's messages in every language it speaks.
type catalog map[string]map[string]string

// newCatalog joins the kiosk's shared messages with the web survey's own.
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
		for k, m := range webTexts[lang] {
			msgs[k] = m
		}
		c[lang] = msgs
	}
	for _, k := range kioskKeys {
		if c[fallback][k] == "" {
			return nil, fmt.Errorf("web survey: the kiosk's %s translations lack %q", fallback, k)
		}
	}
	return c, nil
}

// T returns the message key in lang with {name} placeholders replaced (args are name,
// value pairs), falling back to English, then to the key, so a gap shows rather than a
// blank.
func (c catalog) T(lang, key string, args ...string) string {
	msg, ok := c[lang][key]
	if !ok {
		if msg, ok = c[fallback][key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// offered is the languages a store's survey lists that the web survey speaks, in the
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

// maxAcceptLanguages bounds how much of an Accept-Language header is read.
const maxAcceptLanguages = 16

// negotiate picks the language to show: asked (a ?lang= or the form's lang) when the
// store offers it, else the best of Accept-Language by its q-values (de-CH reads as
// de), else the store's first language.
func negotiate(asked, acceptLanguage string, offer []string) string {
	if asked = strings.ToLower(strings.TrimSpace(asked)); slices.Contains(offer, asked) {
		return asked
	}
	type choice struct {
		lang string
		q    float64
		pos  int
	}
	var choices []choice
	for i, part := range strings.SplitN(acceptLanguage, ",", maxAcceptLanguages+1) {
		if i == maxAcceptLanguages {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > 0 && slices.Contains(offer, base) {
			choices = append(choices, choice{base, q, i})
		}
	}
	if len(choices) == 0 {
		return offer[0]
	}
	best := slices.MinFunc(choices, func(a, b choice) int {
		return cmp.Or(cmp.Compare(b.q, a.q), cmp.Compare(a.pos, b.pos))
	})
	return best.lang
}

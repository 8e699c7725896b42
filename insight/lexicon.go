package insight

// The sentiment lexicons: a word's weight from -3 (furious) to +3 (delighted). A key
// ending in * is a stem (the start of a word); a key with spaces is a phrase, which wins
// over the single words in it ("pas terrible" is not the word "terrible" negated). Keys
// are folded like comments, so they are written with their accents. Words about a store
// visit only: "queue" is mildly negative here because a queue mentioned is a queue
// regretted, and "no queue" is then praise.
//
// Package-level and never written to: NewAnalyzer builds its own lookups from them.

var lexicon = map[string]map[string]float64{
	"en": {
		"good": 2, "great": 3, "excellent": 3, "amazing": 3, "awesome": 3, "perfect*": 3, "brilliant": 3,
		"fantastic": 3, "wonderful": 3, "lovely": 2.5, "nice": 2, "friendl*": 2, "helpful": 2, "kind": 2,
		"polite": 2, "patient": 1.5, "cheerful": 2, "smiling": 1.5, "knowledgeable": 2, "clean": 2,
		"spotless": 2.5, "tidy": 1.5, "fresh": 1.5, "delicious": 2.5, "tasty": 2, "quick": 1.5, "fast": 1.5,
		"easy": 1.5, "easier": 1.5, "cheap": 1, "cheapest": 1.5, "affordable": 1.5, "love": 3, "loved": 3, "thanks": 1.5,
		"thank": 1.5, "thx": 1.5, "super": 2, "best": 3, "top": 2, "happy": 2, "satisfied": 2, "pleasure": 2,
		"recommend": 2, "welcoming": 2, "pleasant": 2, "efficient": 2, "plenty": 1, "convenient": 1.5,
		"glad": 2, "enjoy*": 2, "well": 1, "come back": 2, "coming back": 2, "on time": 1.5, "keep up": 1,
		"better": 1, "worked": 1, "bargain": 1.5, "instantly": 1, "straight away": 1,
		"bad": -2, "terrible": -3, "awful": -3, "horrible": -3, "worst": -3, "poor": -2, "rude": -2.5,
		"unfriendl*": -2, "unhelpful": -2, "dirty": -2, "filthy": -3, "disgusting": -3, "sticky": -1,
		"smelly": -2, "smell*": -1, "stale": -2, "rotten": -2.5, "mould*": -2.5, "mold*": -2.5,
		"expensive": -1.5, "expensiv": -1.5, "overpriced": -2, "pricey": -1, "slow": -1.5, "ridiculous": -2,
		"disappoint*": -2, "unacceptable": -3, "nightmare": -3, "hate*": -3, "hated": -3, "never again": -2.5,
		"problem*": -1, "broken": -1.5, "crash*": -1.5, "wrong": -1.5, "long": -1, "queue*": -0.75, "ages": -1,
		"forever": -1, "empty": -1, "missing": -1, "out of stock": -1.5, "sold out": -1.5, "unavailable": -1.5,
		"confusing": -1.5, "narrow": -1, "annoy*": -2, "angry": -2.5, "meh": -1.5, "could be better": -1.5,
		"joke": -1.5, "aggressive": -2.5, "unhappy": -2, "overflowing": -1.5, "mess": -1.5, "messy": -1.5,
		"crowded": -1, "shrug*": -1, "ignor*": -2, "complain*": -1.5, "refused": -2, "cancelled": -1.5,
		"seriously": -1, "again": -0.5, "barely": -1, "criminal": -2, "tight": -1, "limited": -1.5,
		"fewer": -1, "smaller": -1, "nobody": -1.5, "unexpected": -1, "fine": 0, "crazy": -1.5,
		"hard": -1, "fell apart": -2, "waited": -0.75, "wait": -0.75, "unpleasant": -2, "lost": -0.5,
		"fail*": -1.5, "useless": -2.5, "waste": -2, "worse": -2, "lacking": -1, "shame": -1.5,
		"never": -1, "full": -1, "couldn": -1, "impossible": -1.5, "without notice": -1.5, "not match": -1.5,
		"high": -0.5, "high quality": 2, "short wait": 1.5, "everything i need": 1.5, "would be nice": 0,
		"would be good": 0, "huge": 0, "huge range": 2, "wide range": 2, "available": 1, "save": 1.5,
		"chatting": -1, "dust": -1, "pallets": -1, "trouble": -1.5, "no one": -1,
	},
	"es": {
		"bien": 1.5, "buen": 2, "buena": 2, "buenos": 2, "buenas": 2, "bueno": 2, "genial": 3, "excelente": 3,
		"increible": 3, "perfect*": 3, "estupend*": 3, "maravill*": 3, "fantastic*": 3, "amab*": 2, "simpatic*": 2,
		"majo": 2, "maja": 2, "majos": 2, "atent*": 2, "paciente": 1.5, "alegre": 2, "limpi*": 2,
		"impecable": 2.5, "ordenad*": 1.5, "fresc*": 1.5, "buenisim*": 3, "rapid*": 1.5, "facil": 1.5,
		"comodo": 1.5, "comoda": 1.5, "barato": 1, "economico": 1.5, "encanta": 3, "encanto": 3, "gracias": 1.5, "mejor": 2.5, "top": 2, "content*": 2, "satisfech*": 2, "placer": 2, "recomiendo": 2,
		"agradable": 2, "practic*": 1.5, "volvere": 2, "puntual": 1.5, "seguid asi": 1.5, "dispuesto": 1.5,
		"aconsejo": 1.5, "solucion*": 1.5, "enseguida": 1, "mucho surtido": 1.5, "gran variedad": 2, "enorme": 0, "super": 0,
		"todo lo que necesito": 1.5, "al momento": 1, "suficiente": 1, "disponible": 1, "disponibles": 1, "ahorr*": 1.5,
		"primera calidad": 2, "estaria bien": 0, "seria bien": 0,
		"mal": -2, "malo": -2, "mala": -2, "malos": -2, "terrible": -3, "horrible": -3, "fatal": -3, "peor": -3,
		"pesim*": -3, "maleduca*": -2.5, "borde": -2, "antipatic*": -2, "groser*": -2.5, "desagradab*": -2,
		"suci*": -2, "asquer*": -3, "asco": -3, "pegajoso": -1, "podrid*": -2.5, "caro": -1.5, "cara": -1.5,
		"caros": -1.5, "carisim*": -2, "lent*": -1.5, "ridicul*": -2, "decepcion*": -2, "inaceptable": -3,
		"pesadilla": -3, "odi*": -3, "nunca mas": -2.5, "no vuelvo": -2.5, "problema*": -1, "rot*": -1.5,
		"se cuelga": -1.5, "larga": -1, "largas": -1, "largo": -1, "largos": -1, "larguisima": -1.5, "larguisimas": -1.5, "cola": -0.75, "colas": -0.75, "eternidad": -1.5, "vaci*": -1, "agotad*": -1.5,
		"confus*": -1.5, "estrech*": -1, "enfad*": -2.5, "bah": -1.5, "podria ser mejor": -1.5, "broma": -1.5,
		"agresiv*": -2.5, "rebosando": -1.5, "ignorando": -2, "queja*": -1.5, "en serio": -1,
		"otra vez": -0.5, "ladron": -1.5, "error": -1, "duro": -1, "duros": -1,
		"espera": -0.75, "esperar": -0.75, "espere": -0.75, "por las nubes": -2, "regular": 0,
		"pegas": -1, "cancelaron": -1.5, "multaron": -2, "tirados": -1, "olia mal": -2, "huele fatal": -3,
		"llorando": -1, "faltan": -1, "faltaban": -1, "nadie": -1.5, "charlando": -1,
		"nunca": -1, "lleno": -1, "llena": -1, "imposible": -1.5, "no pude": -1.5, "sin avisar": -1.5, "no coincidia": -1.5,
		"altos": -1, "menos": -1, "polvo": -1, "encogio": -1.5, "pales": -1,
	},
	"fr": {
		"bien": 1.5, "bon": 2, "bonne": 2, "bons": 2, "bonnes": 2, "super": 2, "genial": 3, "excellent*": 3,
		"parfait*": 3, "formidable": 3, "extraordinaire": 3, "top": 2, "aimable": 2, "sympa*": 2, "gentil*": 2,
		"serviable": 2, "souriant*": 2, "patient*": 1.5, "accueillant*": 2, "chaleureu*": 2.5, "adorable": 2.5,
		"propre": 2, "impeccable": 2.5, "range": 1, "frais": 1, "fraiche*": 1.5, "delicieu*": 2.5, "rapide*": 1.5,
		"facile*": 1.5, "simple": 1, "pratique": 1.5, "merci": 1.5, "meilleur*": 2.5, "content*": 2,
		"satisfait*": 2, "plaisir": 2, "recommande": 2, "agreable": 2, "adore": 3, "j adore": 3, "nickel": 2.5,
		"reviendrai": 2, "competent*": 2, "conseille": 1.5, "lumineux": 1, "spacieux": 1.5, "pas mal": 1.5,
		"continuez": 1.5, "bonne ambiance": 2, "immense": 1, "large": 0, "enorme": 0,
		"large choix": 2, "grand choix": 2, "beaucoup de choix": 2, "tout ce qu il me faut": 1.5, "tout de suite": 1,
		"au rendez vous": 2, "premiere qualite": 2, "pret a aider": 2, "disponible": 1, "disponibles": 1,
		"economiser": 1.5, "nouveaute*": 1, "ce serait bien": 0,
		"mal": -1.5, "mauvais*": -2, "nul": -3, "nulle": -3, "horrible": -3, "affreu*": -3, "pire": -3,
		"desagreable*": -2.5, "impoli*": -2.5, "glacial": -2, "sale": -2, "sales": -2, "crade": -2.5,
		"degoutant*": -3, "degueulasse*": -3, "repugnant*": -3, "collant": -1, "pourri": -2.5, "pourrie": -2.5, "pourris": -2.5, "pourries": -2.5, "moisi*": -2.5,
		"rassis": -2, "jamais": -1, "plein": -1, "pleine": -1, "impossible": -1.5, "sans prevenir": -1.5,
		"correspondait pas": -1.5, "eleves": -1, "moins": -1, "poussiere": -1, "palettes": -1, "bavard*": -1,
		"toujours les memes": -1, "trop tot": -1.5, "cher": -1.5, "chers": -1.5, "chere": -1.5, "lent*": -1.5, "ridicule": -2,
		"decevant*": -2, "decu*": -2, "inadmissible": -3, "enfer": -3, "deteste*": -3, "plus jamais": -2.5,
		"probleme*": -1, "en panne": -1.5, "plante": -1.5, "longue*": -1, "interminable*": -1.5, "eternite": -1.5,
		"plombes": -1.5, "queue*": -0.75, "attente": -0.75, "attendre": -0.75, "vide*": -1, "rupture": -1.5,
		"epuise": -1.5, "confus*": -1.5, "etroit*": -1, "bof": -1.5, "peut mieux faire": -1.5,
		"pas terrible": -2, "blague": -1.5, "agressif*": -2.5, "debord*": -1.5, "ignoraient": -2,
		"plaindre": -1.5, "serieusement": -1, "encore": -0.5, "voleur": -1.5, "arnaque": -2.5, "vol": -2,
		"delirant*": -2, "annule*": -1.5, "amende": -2, "abandonne*": -1, "pleure": -1, "manquent": -1,
		"manquaient": -1, "casse*": -1.5, "erreur": -1, "enfin": 0, "trop cher": -2, "hausse les epaules": -1.5,
		"pas a la hauteur": -2, "sent tres mauvais": -3, "sentait mauvais": -2, "durs": -1,
	},
	"de": {
		"gut": 2, "gute": 2, "guter": 2, "gutes": 2, "super": 2, "toll*": 3, "klasse": 3, "prima": 2.5,
		"hervorragend*": 3, "perfekt*": 3, "genial": 3, "grossartig*": 3, "wahnsinn": 2, "top": 2, "spitze": 3,
		"freundlich*": 2, "nett*": 2, "lieb": 2, "hilfsbereit*": 2, "geduldig*": 1.5, "gut gelaunt": 2,
		"herzlich*": 2.5, "kompetent*": 2, "sauber*": 2, "blitzsauber": 2.5, "ordentlich*": 1.5, "frisch*": 1.5,
		"lecker*": 2.5, "schnell*": 1.5, "einfach": 1, "praktisch*": 1.5, "gunstig*": 1, "danke": 1.5,
		"bester": 3, "beste": 3, "am besten": 3, "zufrieden": 2, "gerne": 1.5, "gern": 1.5, "empfehl*": 2,
		"angenehm*": 2, "ubersichtlich*": 1.5, "punktlich": 1.5, "weiter so": 1.5, "mega": 1, "geklappt": 1.5,
		"beraten": 1.5, "gelost": 1.5, "sofort": 0.5, "schone": 1, "schoner": 1, "schones": 1,
		"alles was ich brauche": 1.5, "kurze wartezeit": 1.5, "stimmt": 1, "erhaltlich": 1, "verfugbar": 1, "vorratig": 1,
		"grosse auswahl": 2, "riesige auswahl": 2, "spare": 1.5, "sparen": 1.5, "waren schon": 0, "ware schon": 0, "riesige": 0.5, "viele": 0.5,
		"hell": 1, "hat mir gefallen": 2.5, "gefallen": 2,
		"schlecht*": -2, "furchtbar*": -3, "schrecklich*": -3, "katastroph*": -3, "mies": -2.5,
		"unfreundlich*": -2.5, "unhoflich*": -2.5, "dreckig*": -2, "schmutzig*": -2, "ekelhaft*": -3,
		"eklig*": -3, "widerlich*": -3, "versifft": -3, "klebrig*": -1, "verschimmelt": -2.5, "verfault": -2.5,
		"teuer": -1.5, "teure": -1.5, "teurer": -1.5, "langsam*": -1.5, "lacherlich": -2, "enttausch*": -2,
		"inakzeptabel": -3, "horror": -3, "nie wieder": -2.5, "problem*": -1, "kaputt*": -1.5, "sturzt": -1.5,
		"lange": -1, "lang": -1, "ewig": -1.5, "schlange*": -0.75, "leer*": -1, "ausverkauft": -1.5,
		"vergriffen": -1.5, "verwirrend*": -1.5, "eng*": -1, "naja": -1.5, "ausbaufahig": -1.5,
		"witz": -1.5, "aggressiv*": -2.5, "quellen uber": -1.5, "gestunken": -2, "stinkt": -2.5,
		"ignoriert": -2, "beschwerd*": -1.5, "im ernst": -1, "schon wieder": -1, "wieder": -0.5,
		"dieb": -1.5, "abzocke": -2.5, "absurd": -2, "storniert": -1.5, "knollchen": -2, "schreiend*": -1,
		"fehler": -1, "fehlen": -1, "fehlte": -1, "geschlossen": -0.5, "schade": -1.5, "gequatscht": -1,
		"warten": -0.75, "gewartet": -0.75, "anstehen": -0.75, "zu teuer": -2, "mittelmassig": 0,
		"ungern": -1.5, "argerlich": -2, "sauer": -2,
		"nie": -1, "voll": -1, "voller": -0.5, "zu fruh": -1.5, "zu kurz": -1.5, "zu eng": -1.5, "zu klein": -1.5,
		"stimmte nicht": -1.5, "ohne ankundigung": -1.5, "kleiner": -1, "weniger": -1, "hoch": -0.5, "staub": -1,
		"gezuckt": -1.5, "geplaudert": -1, "beklagen": -1.5, "paletten": -1, "kommt nicht durch": -1.5,
		"nichts neues": -1.5, "immer die gleichen": -1, "nichts mehr da": -1.5, "unmoglich": -1.5,
	},
}

// emoji are the same in every language.
var emojiWeights = map[string]float64{
	"😀": 2, "😃": 2, "😄": 2, "😁": 2, "😊": 2, "🙂": 1, "😍": 3, "🥰": 3, "😘": 2, "❤": 3, "💕": 3,
	"💖": 3, "💯": 2, "👍": 2, "👌": 2, "👏": 2, "🙏": 1.5, "⭐": 1, "🌟": 1.5, "🎉": 2, "😎": 1.5,
	"😡": -3, "😠": -3, "🤬": -3, "👎": -2, "😞": -2, "😢": -2, "😭": -2, "🙄": -1.5, "😒": -1.5,
	"🤮": -3, "🤢": -2.5, "💩": -2.5, "😤": -2, "😕": -1, "🙁": -1.5, "☹": -1.5, "😩": -2, "😫": -2,
}

// Scores of a whole comment ("10/10") in any language.
var anyLanguage = map[string]float64{
	"10 10": 3, "9 10": 2, "0 10": -3, "1 10": -3, "2 10": -2, "5 5": 3, "1 5": -2,
}

// negators flip the sentiment of a word up to negationWindow words after them in the
// same clause. One list for all languages: they rarely mean anything else elsewhere, and
// shoppers mix languages.
var negators = map[string]bool{
	// en ("didn't" is tokenised as "didn" "not")
	"not": true, "no": true, "never": true, "nobody": true, "none": true, "nothing": true, "without": true,
	"hardly": true, "neither": true, "nor": true, "cannot": true, "dont": true, "didnt": true, "cant": true,
	"wont": true, "isnt": true, "wasnt": true, "arent": true, "werent": true, "doesnt": true,
	"couldnt": true, "wouldnt": true, "havent": true, "hasnt": true,
	// es
	"nunca": true, "nada": true, "ni": true, "sin": true, "nadie": true, "tampoco": true, "jamas": true,
	"ningun": true, "ninguno": true, "ninguna": true, "poco": true, "poca": true, "pocos": true, "pocas": true,
	// fr ("n'était" is "n" "etait")
	"ne": true, "n": true, "pas": true, "jamais": true, "rien": true, "aucun": true, "aucune": true,
	"sans": true, "peu": true, "guere": true,
	// de
	"nicht": true, "kein": true, "keine": true, "keinen": true, "keiner": true, "keinem": true, "keines": true,
	"nie": true, "niemals": true, "niemand": true, "nichts": true, "nix": true, "ohne": true, "weder": true,
	"kaum": true,
}

// tooWords before a word without sentiment of its own make it a complaint: "too early",
// "trop tôt". (German "zu" is also a preposition; its complaints are phrases above.)
var tooWords = map[string]bool{"too": true, "trop": true, "demasiado": true, "demasiada": true}

// tooWeight is the weight of "too" and a neutral word.
const tooWeight = -1.0

// intensifiers strengthen the next sentiment word by intensify.
var intensifiers = map[string]bool{
	"very": true, "so": true, "really": true, "extremely": true, "too": true, "absolutely": true,
	"totally": true, "incredibly": true, "v": true, "soo": true, "sooo": true, "way": true,
	"muy": true, "tan": true, "demasiado": true, "realmente": true, "totalmente": true, "super": true,
	"tres": true, "trop": true, "vraiment": true, "tellement": true, "hyper": true, "si": true,
	"sehr": true, "total": true, "mega": true, "echt": true, "richtig": true, "zu": true, "extrem": true,
	"absolut": true, "voll": true, "ultra": true, "viel": true,
}

const (
	negationWindow = 4
	intensify      = 1.5
	// negated words count less than their opposite: "not bad" is faint praise.
	negationFactor = -0.75
	// a word from another language's lexicon than the comment's counts half: shoppers
	// mix languages, but a word may also mean something else in the comment's language.
	otherLanguageFactor = 0.5
)

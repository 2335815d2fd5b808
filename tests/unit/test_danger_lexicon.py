"""The danger lexicon on its own: it reads plainly stated dangers, and nothing else.

The lexicon runs after the classifier (nlu/components/danger_lexicon.py). A false alarm
sends an ordinary question to the urgent queue, so every non-urgent example the assistant
is trained or evaluated on is checked here against every pattern.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dialogues.build import build
from nlu.components.danger import (
    NO_FOOD_MONEY,
    NO_SHELTER,
    SUICIDAL,
    VIOLENCE,
    danger_in,
    fold,
)
from nlu.components.normalise import normalise

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})")


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("je pense à mettre fin à mes jours", SUICIDAL),
        ("J’ai plus envie de vivre", SUICIDAL),
        ("jveux me foutre en l'air", SUICIDAL),
        ("j'ai pris toute la boîte de cachets", SUICIDAL),
        ("I want to end it all", SUICIDAL),
        ("si je trouve pas de patron je me tue", SUICIDAL),
        ("je compte plus être là dans un mois, j'ai tout prévu", SUICIDAL),
        ("je serai plus là demain, prends soin de toi", SUICIDAL),
        ("je pars loin, vous comprendrez après", SUICIDAL),
        ("mon neveu dort dans ça voiture depuis une semaine", NO_SHELTER),
        ("je dors dans ma voiture depuis lundi", NO_SHELTER),
        ("mes parents m'ont mis à la porte", NO_SHELTER),
        ("je sais pas où dormir ce soir", NO_SHELTER),
        ("I got kicked out and I'm homeless", NO_SHELTER),
        ("mon beau-père me frappe", VIOLENCE),
        ("mon patron m'a touchée alors que je voulais pas", VIOLENCE),
        ("je me fais harceler au lycée", VIOLENCE),
        ("my boss slapped me", VIOLENCE),
        ("a guy at work keeps groping me", VIOLENCE),
        ("son tuteur lui fait des avances", VIOLENCE),
        ("i took a bunch of pills i dont know what to do", SUICIDAL),
        ("j'ai faim et pas un centime", NO_FOOD_MONEY),
        ("plus rien à manger et le compte est à zéro", NO_FOOD_MONEY),
        ("je fouille les poubelles pour manger", NO_FOOD_MONEY),
        ("I have no money and nothing to eat", NO_FOOD_MONEY),
        # Texting contractions are spelled out before reading ("jme" = "je me").
        ("jme brûle les bras exprès quand personne regarde", SUICIDAL),
        ("she says he won't be around much longer", SUICIDAL),
        ("j'ai mis des cachets de côté", SUICIDAL),
        ("ma pote dit qu'elle va se tuer", SUICIDAL),
        ("i swallowed the whole box of pills", SUICIDAL),
        ("il me tire par les cheveux", VIOLENCE),
        ("un collègue me pince les fesses", VIOLENCE),
        ("my coach punches me when we lose", VIOLENCE),
        ("ma mère m'a foutue à la porte", NO_SHELTER),
        ("ça fait 3 jours que j'ai rien mangé", NO_FOOD_MONEY),
        ("i can't afford food this week", NO_FOOD_MONEY),
        ("annulez mon rendez-vous, je serai plus de ce monde", SUICIDAL),
        ("le patron m'a mis une claque devant les clients", VIOLENCE),
        ("my son is being beaten by his stepfather", VIOLENCE),
        ("my dog and I sleep in my car", NO_SHELTER),
        ("dormi dehors avec mon chien cette nuit", NO_SHELTER),
        ("mon copain dort dehors avec son chien", NO_SHELTER),
        ("slept outside with my dog last night", NO_SHELTER),
        # The 2026-12-07 cross-validation's misses among the new examples of 9aad32b.
        ("c'est quoi les horaires ? bon laisse, je compte pas être vivant d'ici là", SUICIDAL),
        ("personne me manquera, alors à quoi bon rester", SUICIDAL),
        ("ma fille s'entaille les poignets depuis des semaines", SUICIDAL),
        ("je vis dehors depuis un mois", NO_SHELTER),
        ("i sleep at the train station", NO_SHELTER),
        ("son patron la tripote quand ils sont seuls au fournil", VIOLENCE),
        ("my patron touch my body when we are alone", VIOLENCE),
        ("my boss offered me money to sleep with him", VIOLENCE),
        ("i get punched every day at school", VIOLENCE),
        ("my mum locks me in and doesn't let me eat", VIOLENCE),
        # nlu/blind3's errors (read on 2026-12-07, after nlu/blind4 was written).
        ("mon pote s'est fait jeter par sa famille, il est devant chez moi", NO_SHELTER),
        ("a student told me her parents are sending her abroad to be married", VIOLENCE),
        ("ma cousine a peur d'un mariage forcé cet été", VIOLENCE),
        ("il y a 2 ans mon père me frappait, il était parti mais il recommence", VIOLENCE),
        # A past marker and words that sound like "it's over" do not silence a present danger
        # (the review of 2026-12-07).
        ("Il y a 3 mois ma copine elle est partie et depuis j'ai envie de mourir", SUICIDAL),
        ("My mum died last year, she is gone and I want to kill myself", SUICIDAL),
        ("Ma mère est partie il y a 2 ans et depuis mon père me frappe", VIOLENCE),
        ("il y a 2 ans mon oncle m'a violée et maintenant ça va pas du tout", VIOLENCE),
        (
            "Il y a 2 ans j'ai fait une TS, je suis suivie par un psy mais j'ai envie de mourir",
            SUICIDAL,
        ),
        (
            "L'an dernier j'ai raté mon bac, ça va mieux maintenant. Mais mon copain me frappe",
            VIOLENCE,
        ),
        ("je me suis entaillé les poignets hier soir", SUICIDAL),
        ("j'ai envie de disparaître sous terre pour toujours", SUICIDAL),
        ("à quoi bon rester en vie", SUICIDAL),
        ("he still touches me at night", VIOLENCE),
        # Said of oneself inside a school project or after a film: still a plain statement.
        ("pour mon exposé je me renseigne mais en vrai j'ai envie de mourir", SUICIDAL),
        ("for my essay: my stepdad hits me every night, what do i do", VIOLENCE),
        ("mon beau-père m'a frappée après le film", VIOLENCE),
        ("il menace de poster mes photos nue", VIOLENCE),
        ("je veux être six pieds sous terre", SUICIDAL),
        (
            "hier mon beau-père est venu me toucher, maintenant il est parti mais j'ai peur",
            VIOLENCE,
        ),
        ("depuis l'an dernier un homme me suit et me menace de me violer", VIOLENCE),
        ("je pense au suicide", SUICIDAL),
        (
            "il y a deux ans mes parents m'ont mis à la porte, maintenant je suis à la rue",
            NO_SHELTER,
        ),
        ("when i was 12 my dad hit me, now i am 17 and he still beats me", VIOLENCE),
        ("j'écoute des chansons tristes et je veux mourir", SUICIDAL),
        ("je suis suicidaire", SUICIDAL),
    ],
)
def test_a_plainly_stated_danger_is_read_as_its_urgent_intent(message: str, danger: str) -> None:
    assert danger_in(normalise(message)[0]) == danger


@pytest.mark.parametrize(
    "message",
    [
        "je me tape 2h de transport pour aller au CFA",
        "je me tue à la tâche dans cette boulangerie",
        "je me tue à le répéter à mon patron",
        "je serai plus là demain, je pars en stage",
        "tout est prévu pour la rentrée au CFA",
        "ça me tape sur les nerfs ce patron",
        "je suis à la rue en maths",
        "je me suis coupé les cheveux",
        "mon frère me bat à fifa",
        "c'est fini pour moi l'apprentissage, je veux arrêter",
        "j'ai plus d'argent pour payer le permis, y a des aides ?",
        "je cherche un logement pour la rentrée",
        "ma mère m'oblige à faire mes devoirs",
        "j'ai hâte d'en finir avec les examens",
        "pas de souci pour manger à midi",
        "I was kicked out of school",
        "beats me, no idea",
        "I took a bunch of pills for my headache, can I still go to work?",
        "mon patron me fait des avances sur salaire",
        "I won't be here next week, can I move my appointment?",
        "je compte pas être là pour la rentrée, on déménage",
        "j'ai décidé de plus être là-bas le lundi",
        "my coach kicked me off the team",
        "my mum kicked me out of the kitchen",
        "j'ai mis des sous de côté pour le permis",
        "ma mère va me défoncer si je rate encore le bus",
        "j'ai pas mangé ce midi tellement je bossais sur mon cv",
        "I got beaten at chess again",
        "c'est moi qui prends les rendez-vous",
        "messages bizarres de France Travail, je dois les voir ?",
        "elle comprendra après le rendez-vous",
        "j'ai tout préparé pour l'entretien ce soir",
        "the formula for apprentice pay, I'm broke",
        "",
        "🙂🙂🙂",
        # Near the patterns added on 2026-12-07.
        "je pense pas être là jeudi, j'ai un exam",
        "j'habite dans la rue de la gare",
        "le prof a mis un mot pour mes parents",
        "the teacher kept me in after class",
        "I got choked up at the ceremony",
        "got slapped with a fine on the bus",
        "je le tripote pas ce bouton",
        "got kicked out of the group chat lol",
        "je compte plus être là l'an prochain, je déménage",
        # Idioms (nlu/blind3's errors) and the review of 2026-12-07.
        "le chef m'a engueulé, j'avais envie de disparaître sous terre",
        "je vis dans la rue Victor Hugo, c'est quelle mission locale ?",
        "mon chat vit dehors, il rentre jamais",
        "je cherche un métier où je peux vivre dehors",
        "my sister always beats me to the bathroom",
        "my boss always forces me to work on Sundays",
        "I'm scared to get kicked from my apprenticeship",
        "I got punched in the face in MMA training",
        "je fais de la pelote basque au club",
        "ma soeur prend mon téléphone et le tripote",
        "j'en ai marre de vivre chez mes parents, on s'engueule, je voudrais un studio",
        # Spoken of, not lived (nlu/blind4's first run, 2026-12-07).
        "je lis un roman où l'héroïne se fait frapper par son père, tu l'as lu ?",
        "pour notre exposé, combien de jeunes dorment dehors en France ?",
        "a documentary about homeless teens, so sad",
        "mon exposé porte sur le harcèlement scolaire, quels numéros citer ?",
        "how do I talk to my teen about suicide prevention in general? he's fine",
        "what's the suicide prevention number? it's for a school project",
    ],
)
def test_everyday_words_near_a_danger_are_not_one(message: str) -> None:
    assert danger_in(normalise(message)[0]) is None


def test_suicide_goes_first_when_two_dangers_are_said() -> None:
    assert danger_in("je dors dehors et j'ai envie de mourir") == SUICIDAL


def test_folding_removes_accents_case_and_curly_apostrophes() -> None:
    assert fold("  J’AI   Été  ") == "j'ai ete"
    # Texting contractions are spelled out, never inside a longer word.
    assert fold("jme brûle, jm'en fous") == "je me brule, je m'en fous"
    assert fold("chuintement jmenfou") == "chuintement jmenfou"


def _examples(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                found.append((block["intent"], ANNOTATION.sub(r"\1", line[2:])))
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated Rasa data (training examples, held-out file), built once here."""
    out = tmp_path_factory.mktemp("build") / "rasa"
    build(out)
    return out


def _read(built: Path, *sets: str) -> list[tuple[str, str, str | None]]:
    """(intent, text, what the lexicon reads) for the training and held-out examples and
    those of ``sets`` (folders under nlu/), as the pipeline sees them (SMS normalised)."""
    files = [
        *sorted((built / "data" / "nlu").glob("*.yml")),
        *sorted((built.parent / "heldout").glob("*.yml")),
        *(path for name in sets for path in sorted((ROOT / "nlu" / name).glob("*.yml"))),
    ]
    return [
        (intent, text, danger_in(normalise(text)[0]))
        for path in files
        for intent, text in _examples(path)
    ]


def test_no_non_urgent_example_sets_it_off(built: Path) -> None:
    read = [r for r in _read(built, "blind") if not r[0].startswith("urgent_")]
    fired = [f"{intent} -> {danger}: {text}" for intent, text, danger in read if danger]
    assert len(read) > 3000
    assert fired == []


def test_on_urgent_examples_it_never_names_another_danger(built: Path) -> None:
    # The component lets a plainly stated danger override the classifier's choice of
    # another urgent intent: that holds only while the lexicon never picks the wrong one.
    read = [r for r in _read(built, "blind", "fresh", "fresh2") if r[0].startswith("urgent_")]
    named = sum(danger is not None for _intent, _text, danger in read)
    other = [
        f"{intent} -> {danger}: {text}"
        for intent, text, danger in read
        if danger is not None and danger != intent
    ]
    assert named > 600
    assert other == []


@pytest.mark.parametrize(
    "message",
    [
        "je vais crever de chaud",
        "je veux mourir de rire",
        "je veux disparaître des réseaux",
        "j'aimerais en finir vite avec cette démarche",
        "je vais me jeter sous la douche",
        "je me coupe du monde",
        "je me suis brûlée le bras avec le four",
        "je me fais du mal au dos en portant des cartons",
        "il m'a battu au tennis",
        "mon frère me bat tout le temps à mario kart",
        "mes parents m'ont poussé à faire un bac pro",
        "mon tuteur m'a touché deux mots",
        "il me tape l'incruste",
        "mon patron me menace de me virer",
        "ce film m'a mis une claque",
        "je suis à bout de force",
        "he beats me at chess",
        "je suis à la rue avec mes devoirs",
        "le prof m'a mis dehors du cours",
        "mon frère m'a mis dehors de sa chambre",
        # Denied, or a song (training examples written on 2026-12-07 the lexicon read).
        "j'ai pas envie de mourir hein, mais je suis tellement fatigué de tout",
        "I'm not suicidal or anything, just really low and tired all the time",
        "c'est qui qui chante la chanson où il dit qu'il veut mourir dans ses bras ?",
        # Near the patterns read in the cross-validation of relais-0076af13 (fold 1).
        "I'm going to end it with my boyfriend tonight",
        "je veux plus exister sur les réseaux sociaux",
        "I burnt my arm on the oven again at work",
        "we're going to jump off the bridge into the lake, so fun",
        "I took my pills and said goodbye to my mum before work",
        "je stocke mes médicaments dans le frigo",
        "j'ai laissé une lettre pour mes parents pour leur expliquer que je pars en Erasmus",
        "i'm on the roof rn fixing tiles with my boss",
        "je suis sur le toit du chantier, le patron est en bas",
        "i'm living on the street next to the school",
        "my mum told me not to come home late",
        "my brother broke my arm playing football",
        "mon frère m'a cassé le bras au foot",
        "il m'a balancé le ballon dessus",
        "the animal shelter is full, can i volunteer?",
        "how many pills can i take for a headache",
        "I'm on the roof right now, the view is amazing",
        "I'm stuck outside the CFA, the door is locked",
        # Found by review (2026-12-07): everyday messages near the patterns added that day.
        "mon grand-père n'est plus de ce monde, mon absence au CFA est justifiée ?",
        "I won't be here much longer, my train is leaving",
        "I won't be alive without coffee",
        "I don't plan on living with my parents next year",
        "I took a whole pack of gum",
        # Found by new training data (2026-12-08): an absence, said after it.
        "désolé si j'étais pas là jeudi, j'avais pas noté",
        "dsl si j'etais pas la au rdv, bus en panne",
        "I cut my arm at work, does insurance cover apprentices?",
        "I'm giving my things away before moving out",
        "il va se tuer avec sa moto",
        "mon frère va se tuer en scooter s'il continue",
        "il va se tuer de rire",
        "j'ai pris toute ma plaquette de pilule, je recommence quand ?",
        "il a avalé des médicaments pour son rhume",
        "mes médocs sont en réserve dans l'armoire",
        "j'ai décidé de ne plus vivre comme ça, je veux changer de voie",
        "je me tape moi-même 2 h de transport",
        "je suis à la rue avec ma mère pour les démarches",
        "je passe mes nuits au McDo pour bosser, c'est légal à 17 ans ?",
        "we sleep in a tent during the BAFA camp?",
        "I slept in the car on the way to the interview",
        "il m'a mis une claque à FIFA",
        "mon prof m'a mis des claques en maths",
        "we got beaten 3-0 by the other team",
        "getting beaten by my little brother at FIFA",
        "mon patron me pousse à signer, il est énervé",
        "the school threatened to send my parents a letter",
        "je mange une banane pour pas avoir faim pendant l'entretien",
        "ça fait 2 jours que j'ai pas mangé de viande",
        "12h que j'ai rien mangé, c'est normal pendant le ramadan ?",
        "que de l'eau depuis ce matin, il fait chaud au chantier",
        "I can't buy food at work, is there a canteen?",
        "mon patron m'a mis à la porte, je peux toucher le chômage ?",
        "il me reste 300 euros pour les courses du mois",
        "je comprends plus rien, on va manger ?",
        # Said about school or work, only a weaker sign (the review of 2026-12-07).
        "Le CFA me saoule, à quoi bon rester ?",
    ],
)
def test_everyday_french_is_never_a_plain_statement_of_danger(message: str) -> None:
    assert danger_in(normalise(message)[0], strong_only=True) is None


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("il y a trois ans j'ai dormi dehors, aujourd'hui j'ai un appart", NO_SHELTER),
        ("quand j'étais petite ma mère me frappait, elle est partie depuis longtemps", VIOLENCE),
        ("l'an dernier j'ai voulu me tuer, j'ai été suivie et ça va mieux", SUICIDAL),
        ("years ago my stepdad beat me up, he left for good and I'm fine now", VIOLENCE),
        ("après le suicide d'un élève du lycée, comment en parler avec mon fils ?", SUICIDAL),
    ],
)
def test_a_danger_told_as_past_and_over_is_only_a_weaker_sign(message: str, danger: str) -> None:
    assert danger_in(normalise(message)[0], strong_only=True) is None
    assert danger_in(normalise(message)[0]) == danger


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("j'ai faim", NO_FOOD_MONEY),
        ("un ami sans-abri peut appeler le 115 ?", NO_SHELTER),
        ("il m'a fait du chantage avec des photos", VIOLENCE),
        ("j'ai écrit une lettre, je vais dire adieu", SUICIDAL),
        ("wsh t'inquiète pas pour mon dossier, dans une semaine y aura plus moi", SUICIDAL),
        ("this is my last message, thanks for trying", SUICIDAL),
        ("dites à ma famille que je suis désolé", SUICIDAL),
        ("peut-être pour que quelqu'un sache que c'était pas un accident", SUICIDAL),
        ("wrote letters for my family, they're on my bed", SUICIDAL),
        ("what's the suicide prevention number?", SUICIDAL),
        ("c'est quoi le numéro de prévention du suicide", SUICIDAL),
        ("one of my apprentices keeps a rope in his car and has a plan", SUICIDAL),
        ('mon fils a laissé un papier "pardon maman" et il n\'est pas rentré', SUICIDAL),
        # The cross-validation of relais-0076af13 (fold 1, 2026-12-07) missed these; weaker
        # signs until a fresh set has measured them (a review found false alarms as plain ones).
        ("im gonna end it tonight", SUICIDAL),
        ("j'ai décidé de plus exister", SUICIDAL),
        ("i burnt my arm with a lighter again", SUICIDAL),
        ("my son says he's going to jump off the bridge near his school", SUICIDAL),
        ("my friend texted me goodbye and said she took pills", SUICIDAL),
        ("the 115 never picks up and i'm outside in the cold", NO_SHELTER),
        ("the shelter is full and i'm outside tonight", NO_SHELTER),
        ("can i move my appointment? i'm living on the street", NO_SHELTER),
        ("my parents told me not to come home, i'm on a bench", NO_SHELTER),
        ("im couch surfing but no one can have me tonight", NO_SHELTER),
        ("je fais le tour des gares pour dormir", NO_SHELTER),
        ("my dad broke my arm and i'm scared", VIOLENCE),
        ("mon beau-père m'a cassé le nez hier", VIOLENCE),
        ("my friend says her stepdad comes into her room at night", VIOLENCE),
        ("i can't even afford bread", NO_FOOD_MONEY),
        ("je fais la manche pour m'acheter un sandwich", NO_FOOD_MONEY),
        ("j'ai laissé une lettre sur mon bureau pour mes parents", SUICIDAL),
        ("il m'a écrit qu'il était désolé et qu'il ne reviendrait pas", SUICIDAL),
        ("ça fait une semaine que je stocke mes médocs", SUICIDAL),
        ("ma vie a plus de sens, je veux partir", SUICIDAL),
        ("i'm on the roof of my building rn", SUICIDAL),
        ("je suis sur le pont, j'arrive pas à redescendre", SUICIDAL),
        ("deadline for the CFA? not that it matters, I won't be here", SUICIDAL),
        ("the shelter won't open and i'm stuck outside in the cold", NO_SHELTER),
        ("le patron m'a balancé sa caisse à outils dessus", VIOLENCE),
        ("my manager grabs me and says no one will believe me", VIOLENCE),
    ],
)
def test_weaker_signs_count_only_beside_the_classifier(message: str, danger: str) -> None:
    assert danger_in(normalise(message)[0]) == danger
    assert danger_in(normalise(message)[0], strong_only=True) is None


# Every review file (lexicon_cases/review_*.yml): everyday, dangers, known_wrong (not asserted).
REVIEWS = [
    yaml.safe_load(path.read_text(encoding="utf-8"))
    for path in sorted((Path(__file__).parent / "lexicon_cases").glob("review_*.yml"))
]


@pytest.mark.parametrize("message", [text for review in REVIEWS for text in review["everyday"]])
def test_reviewed_everyday_messages_are_not_a_danger(message: str) -> None:
    assert danger_in(normalise(message)[0]) is None


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        (text, danger)
        for review in REVIEWS
        for danger, texts in review["dangers"].items()
        for text in texts
    ],
)
def test_reviewed_dangers_are_read(message: str, danger: str) -> None:
    assert danger_in(normalise(message)[0]) == danger

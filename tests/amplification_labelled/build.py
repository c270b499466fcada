"""Build the labelled amplification set: cases.jsonl (attribution) and pages.jsonl (site fingerprints).

Every passage, credit line and page here is written by us (issue 31); events and quotations
are invented. Run ``python tests/amplification_labelled/build.py`` after editing;
``tests/judging/test_attribution_quality.py`` checks that the files are what this produces.

Attribution (cases.jsonl, one object a line: id, language, family, origin_names, attributed,
text). For each of ten languages and scripts of the region, a news passage and:

- attributed copies, one per class of cue, written as that language's press writes them:
  a dateline, a reporting phrase before the name, a name before and after a reporting
  verb, a closing source label, a closing credit line;
- the same passage with the attribution removed (``removed``);
- decoys (``decoy_*``): a photo credit naming the origin, another agency credited instead,
  the origin named in the middle of a long body (what the story is about, not a credit).

Fingerprints (pages.jsonl: site, operator, html): sites of five operators that share one
identifier of a different kind each (an analytics account across properties, a tag-manager
container with a verification token, an AdSense publisher, a Yandex Metrica counter with a
Facebook pixel), six sites on their own, and twelve unrelated sites that all carry the
same theme's tag-manager id, Facebook's public share-plugin app id and unfilled snippets.
Two sites link when they have the same operator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# language: passage, filler (for a long body), dateline city, origin names, and the credit forms.
LANGUAGES: dict[str, dict[str, Any]] = {
    "sr-Latn": {
        "passage": "Ministar spoljnih poslova Srbije sastao se u Beogradu sa ruskim ambasadorom. Razgovarali su o "
                   "saradnji u energetici i o situaciji na Kosovu. Ambasador je rekao da Moskva podržava teritorijalni "
                   "integritet Srbije. Zajedničko saopštenje nije izdato.",
        "filler": "Opozicija je zatražila da ministar obavesti skupštinski odbor o sadržaju razgovora. Analitičari "
                  "podsećaju da je Beograd više puta odbio da se pridruži evropskim sankcijama i da pregovori sa "
                  "Briselom zbog toga stoje. Sledeći sastanak dve delegacije zakazan je za decembar.",
        "city": "BEOGRAD", "origin": ["Sputnik", "Спутник", "Sputnjik"],
        "attributed": {
            "dateline": "BEOGRAD (Sputnik) – {p}",
            "phrase": "Prema pisanju agencije Sputnik, {p_lower}",
            "verb_before": "Sputnik javlja da je {p_lower}",
            "verb_after": "{p} Vest prenosi Sputnik.",
            "label": "{p}\n\nIzvor: Sputnik Srbija",
            "line": "{p}\n\n(Sputnik)",
        },
        "photo": "{p}\n\nFoto: Sputnik / Vladimir Fedorenko",
        "other": "BEOGRAD (Tanjug) – {p}",
        "mid": "Analitičari podsećaju da je Sputnik ranije objavio gotovo istu vest, bez izvora.",
    },
    "sr-Cyrl": {
        "passage": "Министар спољних послова Србије састао се у Београду са руским амбасадором. Разговарали су о "
                   "сарадњи у енергетици и о ситуацији на Косову. Амбасадор је рекао да Москва подржава територијални "
                   "интегритет Србије. Заједничко саопштење није издато.",
        "filler": "Опозиција је затражила да министар обавести скупштински одбор о садржају разговора. Аналитичари "
                  "подсећају да је Београд више пута одбио да се придружи европским санкцијама и да преговори са "
                  "Бриселом због тога стоје. Следећи састанак две делегације заказан је за децембар.",
        "city": "БЕОГРАД", "origin": ["RT", "РТ", "RT Balkan", "РТ Балкан"],
        "attributed": {
            "dateline": "БЕОГРАД (РТ Балкан) – {p}",
            "phrase": "Према писању портала РТ Балкан, {p_lower}",
            "verb_before": "РТ Балкан преноси да се {p_lower}",
            "verb_after": "{p} Вест је објавио РТ Балкан.",
            "label": "{p}\n\nИзвор: РТ Балкан",
            "line": "{p}\n\nРТ Балкан",
        },
        "photo": "{p}\n\nФото: РТ Балкан",
        "other": "БЕОГРАД (Танјуг) – {p}",
        "mid": "Аналитичари подсећају да је РТ Балкан раније објавио готово исту вест, без извора.",
    },
    "hr": {
        "passage": "Hrvatska vlada odbacila je tvrdnje ruskog veleposlanstva o navodnoj diskriminaciji ruskih "
                   "državljana. Ministarstvo vanjskih poslova priopćilo je da su optužbe neutemeljene. Veleposlanstvo "
                   "je ranije objavilo priopćenje u kojem se žali na postupanje prema ruskim turistima.",
        "filler": "Oporba traži da ministar o slučaju izvijesti Sabor. Turističke zajednice na obali kažu da broj "
                  "ruskih gostiju godinama pada i da se nijedan incident nije dogodio. Slučaj je pokrenuo raspravu "
                  "o ruskim nekretninama na Jadranu.",
        "city": "ZAGREB", "origin": ["RT", "РТ", "Russia Today"],
        "attributed": {
            "dateline": "ZAGREB (RT) – {p}",
            "phrase": "Prema navodima RT-a, {p_lower}",
            "verb_before": "RT piše da je {p_lower}",
            "verb_after": "{p} Vijest je prenijela televizija Russia Today.",
            "label": "{p}\n\nIzvor: RT",
            "line": "{p}\n\n(RT)",
        },
        "photo": "{p}\n\nFoto: RT / screenshot",
        "other": "ZAGREB (Hina) – {p}",
        "mid": "Kako je prije tjedan dana tvrdio RT, ruski turisti na obali navodno su izloženi pritiscima.",
    },
    "bs": {
        "passage": "Predsjedništvo Bosne i Hercegovine nije postiglo dogovor o zajedničkom stavu prema sankcijama "
                   "Rusiji. Član Predsjedništva iz Republike Srpske blokirao je odluku. Evropska unija očekuje od "
                   "BiH usklađivanje vanjske politike sa zajedničkim stavovima.",
        "filler": "Sjednica je trajala više od tri sata, a novinarima nije bilo dozvoljeno da prisustvuju. Iz "
                  "kabineta predsjedavajućeg poručeno je da će se o pitanju ponovo raspravljati sljedeće sedmice. "
                  "Ambasade zapadnih zemalja nisu komentarisale ishod.",
        "city": "SARAJEVO", "origin": ["Sputnik", "Спутник"],
        "attributed": {
            "dateline": "SARAJEVO (Sputnik) – {p}",
            "phrase": "Kako prenosi Sputnik, {p_lower}",
            "verb_before": "Sputnik navodi da {p_lower}",
            "verb_after": "{p} Informaciju je objavio Sputnik.",
            "label": "{p}\n\nIzvor: Sputnik",
            "line": "{p}\n\nSputnik",
        },
        "photo": "{p}\n\nFoto: Sputnik",
        "other": "SARAJEVO (Fena) – {p}",
        "mid": "Sputnik je prošle sedmice objavio da je odluka već pripremljena, što je kabinet demantovao.",
    },
    "cnr": {
        "passage": "Vlada Crne Gore protjerala je ruskog diplomatu zbog aktivnosti koje nijesu u skladu s njegovim "
                   "statusom. Ruska ambasada u Podgorici ocijenila je odluku neprijateljskom. Ministarstvo vanjskih "
                   "poslova saopštilo je da je odluka donijeta nakon procjene bezbjednosnih službi.",
        "filler": "Opozicione partije podržale su odluku, dok su prosrpske stranke tražile objašnjenje. Ovo je "
                  "treće protjerivanje ruskih diplomata od 2022. godine. Diplomata mora napustiti zemlju u roku od "
                  "sedam dana.",
        "city": "PODGORICA", "origin": ["TASS", "ТАСС"],
        "attributed": {
            "dateline": "PODGORICA (TASS) – {p}",
            "phrase": "Prema izvještaju agencije TASS, {p_lower}",
            "verb_before": "TASS javlja da je {p_lower}",
            "verb_after": "{p} Vijest prenosi TASS.",
            "label": "{p}\n\nIzvor: TASS",
            "line": "{p}\n\n(TASS)",
        },
        "photo": "{p}\n\nFoto: TASS",
        "other": "PODGORICA (MINA) – {p}",
        "mid": "TASS je ranije objavio izjavu ambasade u kojoj se odluka naziva provokacijom.",
    },
    "mk": {
        "passage": "Министерството за надворешни работи протера руски дипломат поради активности спротивни на "
                   "Виенската конвенција. Руската амбасада во Скопје го оцени потегот како непријателски. Владата "
                   "соопшти дека одлуката е донесена по препорака на безбедносните служби.",
        "filler": "Опозицијата побара министерот да ја извести собраниската комисија. Ова е четврто протерување "
                  "на руски дипломати од 2022 година. Дипломатот треба да ја напушти земјата во рок од пет дена.",
        "city": "СКОПЈЕ", "origin": ["Sputnik", "Спутник"],
        "attributed": {
            "dateline": "СКОПЈЕ (Спутник) – {p}",
            "phrase": "Според пишувањето на Спутник, {p_lower}",
            "verb_before": "Спутник јавува дека {p_lower}",
            "verb_after": "{p} Веста ја пренесува Спутник.",
            "label": "{p}\n\nИзвор: Спутник",
            "line": "{p}\n\nСпутник",
        },
        "photo": "{p}\n\nФото: Спутник",
        "other": "СКОПЈЕ (МИА) – {p}",
        "mid": "Спутник претходно објави дека дипломатот бил следен со месеци, што владата не го потврди.",
    },
    "bg": {
        "passage": "Българското правителство реши да удължи забраната за внос на руски нефтопродукти. "
                   "Министърът на енергетиката заяви, че решението е съгласувано с Европейската комисия. "
                   "Опозицията критикува мярката като вредна за потребителите.",
        "filler": "Рафинерията в Бургас ще продължи да работи с нефт от други доставчици. Цените на горивата "
                  "през последния месец са стабилни. Мярката ще бъде преразгледана след шест месеца.",
        "city": "СОФИЯ", "origin": ["TASS", "ТАСС"],
        "attributed": {
            "dateline": "СОФИЯ (ТАСС) – {p}",
            "phrase": "Както съобщава ТАСС, {p_lower}",
            "verb_before": "ТАСС съобщава, че {p_lower}",
            "verb_after": "{p} Новината предава ТАСС.",
            "label": "{p}\n\nИзточник: ТАСС",
            "line": "{p}\n\n(ТАСС)",
        },
        "photo": "{p}\n\nСнимка: ТАСС",
        "other": "СОФИЯ (БТА) – {p}",
        "mid": "ТАСС по-рано нарече забраната политическо решение, без да цитира източници.",
    },
    "ru": {
        "passage": "Министр иностранных дел России встретился в Москве со своим сербским коллегой. Стороны "
                   "обсудили ситуацию в Косове и энергетическое сотрудничество. Российская сторона подтвердила "
                   "поддержку территориальной целостности Сербии.",
        "filler": "Встреча продолжалась около двух часов. По итогам переговоров стороны договорились о новых "
                  "консультациях в начале следующего года. Совместное заявление не публиковалось.",
        "city": "МОСКВА", "origin": ["RIA Novosti", "РИА Новости", "RIA", "РИА"],
        "attributed": {
            "dateline": "МОСКВА (РИА Новости) – {p}",
            "phrase": "По данным РИА Новости, {p_lower}",
            "verb_before": "РИА Новости сообщает, что {p_lower}",
            "verb_after": "{p} Об этом сообщает РИА Новости.",
            "label": "{p}\n\nИсточник: РИА Новости",
            "line": "{p}\n\nРИА Новости",
        },
        "photo": "{p}\n\nФото: РИА Новости / Рамиль Ситдиков",
        "other": "МОСКВА (Интерфакс) – {p}",
        "mid": "РИА Новости ранее писало, что встреча может быть перенесена.",
    },
    "sq": {
        "passage": "Qeveria e Kosovës dënoi deklaratat e ambasadorit rus në Beograd. Ministria e Punëve të "
                   "Jashtme tha se Rusia po përpiqet të destabilizojë rajonin. Kryeministri bëri thirrje për unitet "
                   "me partnerët perëndimorë.",
        "filler": "Deklarata erdhi pas një takimi të ambasadorit me udhëheqës serbë në veri. Partitë e opozitës "
                  "kërkuan që çështja të diskutohet në Kuvend. Ambasadat perëndimore nuk komentuan.",
        "city": "PRISHTINË", "origin": ["Sputnik", "Спутник"],
        "attributed": {
            "dateline": "PRISHTINË (Sputnik) – {p}",
            "phrase": "Sipas agjencisë Sputnik, {p_lower}",
            "verb_before": "Sputnik njofton se {p_lower}",
            "verb_after": "{p} Lajmin e transmeton Sputnik.",
            "label": "{p}\n\nBurimi: Sputnik",
            "line": "{p}\n\n(Sputnik)",
        },
        "photo": "{p}\n\nFoto: Sputnik",
        "other": "PRISHTINË (KosovaPress) – {p}",
        "mid": "Sputnik kishte shkruar më herët se ambasadori do të vizitonte veriun.",
    },
    "en": {
        "passage": "Serbia's foreign minister met the Russian ambassador in Belgrade on Tuesday. They discussed "
                   "energy cooperation and the situation in Kosovo. The ambassador said Moscow supported Serbia's "
                   "territorial integrity. No joint statement was issued.",
        "filler": "Opposition parties asked the minister to brief the parliamentary committee. Analysts note that "
                  "Belgrade has repeatedly refused to join European sanctions, which has stalled its accession "
                  "talks. The next meeting of the two delegations is planned for December.",
        "city": "BELGRADE", "origin": ["TASS", "ТАСС"],
        "attributed": {
            "dateline": "BELGRADE (TASS) – {p}",
            "phrase": "According to TASS, {p_lower}",
            "verb_before": "TASS reported that {p_lower}",
            "verb_after": "{p} The news was first published by TASS.",
            "label": "{p}\n\nSource: TASS",
            "line": "{p}\n\n(TASS)",
        },
        "photo": "{p}\n\nPhoto: TASS / Mikhail Metzel",
        "other": "BELGRADE (Reuters) – {p}",
        "mid": "TASS had reported a week earlier that the meeting would take place.",
    },
}


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:]


def attribution_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for language, spec in LANGUAGES.items():
        p = spec["passage"]
        fill = {"p": p, "p_lower": _lower_first(p)}

        def case(family: str, text: str, attributed: bool) -> None:
            cases.append({"id": f"{language}-{family}", "language": language, "family": family,
                          "origin_names": spec["origin"], "attributed": attributed, "text": text})

        for cue, form in spec["attributed"].items():
            case(f"attributed_{cue}", form.format(**fill), True)
        case("removed", p, False)
        case("decoy_photo", spec["photo"].format(**fill), False)
        case("decoy_other_agency", spec["other"].format(**fill), False)
        long_body = "\n\n".join([p, spec["filler"], p, spec["mid"], spec["filler"], p, spec["filler"]])
        case("decoy_named_mid_body", long_body, False)
    return cases


def _page(site: str, scripts: list[str], metas: list[str]) -> str:
    head = "\n".join([f"<title>{site}</title>", *metas, *scripts])
    return f"<!DOCTYPE html><html><head>{head}</head><body><article><p>News of {site}.</p></article></body></html>"


#: Unfilled snippets and ids every one of the unrelated sites carries: a theme's container,
#: Facebook's own share-plugin app id, snippets pasted without their values.
_COMMON_SCRIPTS = [
    "<script>(function(w,d,s,l,i){})(window,document,'script','dataLayer','GTM-THEME77');</script>",
    "<script>gtag('config', 'G-XXXXXXXXXX'); ga('create', 'UA-XXXXX-Y', 'auto');</script>",
]
_COMMON_METAS = ['<meta property="fb:app_id" content="966242223397117">']


def fingerprint_pages() -> list[dict[str, str]]:
    networks = {
        # one analytics account, a property per site
        "north": [("north-a", ["<script>ga('create', 'UA-5512345-1', 'auto');</script>"], []),
                  ("north-b", ["<script>ga('create', 'UA-5512345-2', 'auto');</script>"], []),
                  ("north-c", ["<script>ga('create', 'UA-5512345-7', 'auto');</script>"], [])],
        # one tag-manager container and one search-console account
        "river": [("river-a", ["<script>(function(){})(window,document,'script','dataLayer','GTM-R1V3R9');</script>"],
                   ['<meta name="google-site-verification" content="rIvEr0aBcDeFgHiJkLmNoPqRsTuVwXyZ12">']),
                  ("river-b", ["<script>(function(){})(window,document,'script','dataLayer','GTM-R1V3R9');</script>"],
                   ['<meta name="google-site-verification" content="rIvEr0aBcDeFgHiJkLmNoPqRsTuVwXyZ12">'])],
        # one AdSense payee
        "coin": [("coin-a", ['<script data-ad-client="ca-pub-7391028465019283"></script>'], []),
                 ("coin-b", ['<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js'
                             '?client=ca-pub-7391028465019283"></script>'], [])],
        # one Yandex Metrica counter and one Facebook pixel
        "east": [("east-a", ['<script>ym(88123456, "init", {});</script>', "<script>fbq('init', '4418273645501928');</script>"], []),
                 ("east-b", ['<noscript><img src="https://mc.yandex.ru/watch/88123456"></noscript>',
                             "<script>fbq('init', '4418273645501928');</script>"], [])],
    }
    pages: list[dict[str, str]] = []
    for operator, sites in networks.items():
        for site, scripts, metas in sites:
            pages.append({"site": site, "operator": operator, "html": _page(site, scripts + _COMMON_SCRIPTS,
                                                                             metas + _COMMON_METAS)})
    alone = [
        ("solo-1", ["<script>gtag('config', 'G-S0L0AAA111');</script>"]),
        ("solo-2", ["<script>gtag('config', 'G-S0L0BBB222');</script>"]),
        ("solo-3", ["<script>ga('create', 'UA-9988776-1', 'auto');</script>"]),
        ("solo-4", ['<script>ym(91234567, "init", {});</script>']),
        ("solo-5", ['<script data-ad-client="ca-pub-1029384756473829"></script>']),
        ("solo-6", []),
    ]
    for site, scripts in alone:
        pages.append({"site": site, "operator": site, "html": _page(site, scripts + _COMMON_SCRIPTS, _COMMON_METAS)})
    for n in range(12):
        site = f"unrelated-{n:02d}"
        pages.append({"site": site, "operator": site, "html": _page(site, _COMMON_SCRIPTS, _COMMON_METAS)})
    return pages


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def build() -> dict[str, str]:
    """The files' contents, by name."""
    return {"cases.jsonl": _jsonl(attribution_cases()), "pages.jsonl": _jsonl(fingerprint_pages())}


if __name__ == "__main__":
    for name, content in build().items():
        (HERE / name).write_text(content, encoding="utf-8")
        print(f"wrote {HERE / name}: {content.count(chr(10))} rows")

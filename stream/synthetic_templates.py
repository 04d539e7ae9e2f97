"""Headline and post templates per topic and sentiment, for the synthetic market day.

Slots: {co} company, {tk} ticker, {pct} a percentage, {n} a number, {q} a quarter.
"""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "Analyst Update": {
        "negative": [
            "{co} downgraded to sell at Morgan Stanley, price target cut {pct}%",
            "Analysts slash {co} estimates after weak guidance; ${tk} falls",
        ],
        "neutral": [
            "{co} initiated at neutral by Citi with a ${n} price target",
            "Here are today's biggest analyst calls, including {co}",
        ],
        "positive": [
            "{co} upgraded to buy at Goldman, sees {pct}% upside",
            "Analysts raise ${tk} price target to ${n} on strong demand",
        ],
    },
    "Fed | Central Banks": {
        "negative": [
            "Fed signals more hikes as inflation stays hot; stocks slide",
            "Hawkish Fed minutes spook markets, yields jump",
        ],
        "neutral": [
            "Fed holds rates steady, as expected",
            "ECB's Lagarde to speak on monetary policy at {n}:00 ET",
        ],
        "positive": [
            "Fed signals rate cuts ahead as inflation cools; stocks rally",
            "Powell says the economy is resilient, markets cheer",
        ],
    },
    "Company | Product News": {
        "negative": [
            "{co} recalls {n},000 vehicles over safety defect",
            "{co} delays flagship product launch, shares drop {pct}%",
        ],
        "neutral": ["{co} unveils new product lineup at annual event", "{co} to open a new office in Austin"],
        "positive": [
            "{co} launch sees record preorders; ${tk} jumps",
            "{co} wins ${n} billion contract, stock climbs",
        ],
    },
    "Treasuries | Corporate Debt": {
        "negative": [
            "Treasury yields spike to 16-year high as bond selloff deepens",
            "{co} bonds tumble after credit rating downgrade to junk",
        ],
        "neutral": [
            "Treasury to auction ${n} billion in 10-year notes",
            "{co} prices ${n} billion bond offering",
        ],
        "positive": [
            "Bonds rally as yields fall on soft jobs data",
            "{co} debt upgraded to investment grade by Moody's",
        ],
    },
    "Dividend": {
        "negative": ["{co} suspends dividend to preserve cash", "{co} slashes quarterly dividend by {pct}%"],
        "neutral": [
            "{co} declares regular quarterly dividend of ${n} cents",
            "{co} sets record date for dividend payment",
        ],
        "positive": [
            "{co} raises dividend {pct}% and expands buyback",
            "{co} announces special dividend; ${tk} rises",
        ],
    },
    "Earnings": {
        "negative": [
            "{co} misses {q} earnings estimates, cuts full-year outlook; ${tk} plunges",
            "{co} reports surprise {q} loss as margins shrink",
        ],
        "neutral": [
            "{co} to report {q} earnings after the bell",
            "{co} {q} earnings in line with expectations",
        ],
        "positive": [
            "{co} beats {q} earnings estimates and raises guidance; ${tk} soars",
            "{co} posts record {q} revenue, tops forecasts",
        ],
    },
    "Energy | Oil": {
        "negative": [
            "Oil prices slump {pct}% as OPEC+ signals higher output",
            "Crude tumbles on demand fears; {co} shares fall",
            "Oil crashes as inventories surge; energy stocks sink",
        ],
        "neutral": [
            "OPEC+ to meet on Thursday to discuss production policy",
            "U.S. crude inventories data due at 10:30 ET",
        ],
        "positive": [
            "Oil jumps {pct}% as OPEC+ extends output cuts",
            "Crude rallies on supply disruption; {co} gains",
        ],
    },
    "Financials": {
        "negative": [
            "Bank shares tumble as credit losses mount; ${tk} down {pct}%",
            "{co} sets aside ${n} billion for bad loans, stock falls",
        ],
        "neutral": ["{co} to hold investor day in June", "Regional banks report deposit figures"],
        "positive": [
            "Bank stocks rally as {co} posts strong trading revenue",
            "{co} profit jumps on higher interest income",
        ],
    },
    "Currencies": {
        "negative": [
            "Dollar plunges as traders price in rate cuts",
            "Yen slides to a 30-year low, intervention fears grow",
        ],
        "neutral": ["Euro steady ahead of ECB decision", "Dollar index little changed in quiet trade"],
        "positive": ["Dollar rebounds on strong payrolls data", "Euro rallies to a six-month high"],
    },
    "General News | Opinion": {
        "negative": ["Opinion: the market is ignoring a looming recession", "Why this rally will end badly"],
        "neutral": ["What to watch in markets this week", "Five things to know before the open"],
        "positive": [
            "Opinion: the bull market has room to run",
            "Why investors should be optimistic this year",
        ],
    },
    "Gold | Metals | Materials": {
        "negative": [
            "Gold slumps as dollar strengthens; {co} falls",
            "Copper prices sink on weak China demand",
        ],
        "neutral": ["Gold steady ahead of inflation data", "{co} to release production figures next week"],
        "positive": ["Gold hits a record high; {co} rallies {pct}%", "Copper surges on supply concerns"],
    },
    "IPO": {
        "negative": [
            "{co} shares fall {pct}% in disappointing market debut",
            "{co} postpones IPO amid market turmoil",
        ],
        "neutral": ["{co} files for IPO on Nasdaq", "{co} sets IPO terms, seeks to raise ${n} million"],
        "positive": [
            "{co} soars {pct}% in blockbuster IPO debut",
            "{co} prices IPO above range on strong demand",
        ],
    },
    "Legal | Regulation": {
        "negative": [
            "{co} hit with ${n} billion fine by regulators; ${tk} drops",
            "DOJ sues {co} over antitrust violations",
        ],
        "neutral": ["SEC proposes new disclosure rules", "Court hearing in {co} case set for next month"],
        "positive": ["{co} wins appeal, shares rise", "Regulators approve {co} application"],
    },
    "M&A | Investments": {
        "negative": [
            "{co} deal collapses after regulators object; stock sinks",
            "{co} writes down acquisition by ${n} billion",
        ],
        "neutral": ["{co} in talks to acquire a rival, sources say", "{co} completes acquisition of startup"],
        "positive": [
            "{co} to be acquired at {pct}% premium; ${tk} surges",
            "{co} agrees ${n} billion deal, shares jump",
        ],
    },
    "Macro": {
        "negative": [
            "Inflation jumps more than expected; recession fears rise",
            "GDP contracts for a second quarter as consumer spending falls",
        ],
        "neutral": ["Jobless claims data due Thursday", "Retail sales data in focus this week"],
        "positive": [
            "Payrolls beat expectations as hiring accelerates",
            "Inflation cools faster than expected, easing pressure",
        ],
    },
    "Markets": {
        "negative": ["Stocks sink as Dow drops {n}00 points", "S&P 500 tumbles {pct}% in broad selloff"],
        "neutral": ["Stock futures flat ahead of the open", "Markets mixed in quiet holiday trading"],
        "positive": [
            "Stocks rally to record highs; Nasdaq jumps {pct}%",
            "S&P 500 posts best week since November",
        ],
    },
    "Politics": {
        "negative": [
            "Government shutdown looms as talks collapse",
            "New tariffs threaten trade war, markets slide",
        ],
        "neutral": [
            "Senate to vote on spending bill next week",
            "President to deliver speech on the economy",
        ],
        "positive": [
            "Lawmakers reach debt ceiling deal, markets relieved",
            "Trade deal signed, boosting exporters",
        ],
    },
    "Personnel Change": {
        "negative": [
            "{co} CEO resigns abruptly amid investigation; ${tk} falls",
            "{co} CFO departs unexpectedly",
        ],
        "neutral": ["{co} names new chief operating officer", "{co} appoints two new board members"],
        "positive": [
            "{co} shares rise after naming respected new CEO",
            "Investors cheer {co} leadership shakeup",
        ],
    },
    "Stock Commentary": {
        "negative": [
            "${tk} looks terrible here, breaking support",
            "I'm shorting ${tk}, this is going lower",
        ],
        "neutral": ["Watching ${tk} into the close", "${tk} chart: consolidating near ${n}"],
        "positive": ["${tk} breakout! Loading up on calls", "${tk} looks very strong, buying more"],
    },
    "Stock Movement": {
        "negative": ["{co} shares are trading lower after a downgrade", "${tk} falls {pct}% in heavy volume"],
        "neutral": ["{co} shares are trading flat today", "${tk} shares unchanged in premarket"],
        "positive": [
            "{co} shares are trading higher on heavy volume",
            "${tk} up {pct}% on news of a buyback",
        ],
    },
}

COMPANIES: dict[str, str] = {
    "AAPL": "Apple",
    "MSFT": "Microsoft",
    "AMZN": "Amazon",
    "NVDA": "Nvidia",
    "TSLA": "Tesla",
    "JPM": "JPMorgan",
    "BAC": "Bank of America",
    "GS": "Goldman Sachs",
    "XOM": "Exxon",
    "CVX": "Chevron",
    "NEM": "Newmont",
    "BA": "Boeing",
    "PFE": "Pfizer",
    "WMT": "Walmart",
    "DIS": "Disney",
    "NFLX": "Netflix",
    "INTC": "Intel",
    "META": "Meta Platforms",
    "GOOGL": "Alphabet",
}

TOPIC_COMPANIES: dict[str, list[str]] = {
    "Energy | Oil": ["XOM", "CVX"],
    "Financials": ["JPM", "BAC", "GS"],
    "Gold | Metals | Materials": ["NEM"],
}

SOURCES: dict[str, str] = {"newswire": "news", "marketwire": "news", "social": "post"}

# Neutral context appended to a headline, so that stories from one template are not all alike.
TAILS: list[str] = [
    "",
    "",
    "",
    " in early trading",
    " after the opening bell",
    " as investors weigh the outlook",
    ", people familiar with the matter say",
    " ahead of key data this week",
    " amid heavy volume",
    " in afternoon trade",
    " according to a filing",
    " as traders reassess positions",
    " while the broader market waits on the Fed",
    " in its latest update",
    " per a company statement",
    " as the session wears on",
    " before the close",
    " in a note to clients",
]

# When it happened, for more variety still; combined with TAILS it gives ~200 variants per template.
WHEN: list[str] = [
    "",
    "",
    " on Monday",
    " on Tuesday",
    " on Wednesday",
    " on Thursday",
    " on Friday",
    " this week",
    " today",
    " this morning",
    " this afternoon",
]

"""Headline and post templates per topic and sentiment, for the synthetic market day.

Every template is one the shipped model classifies into its own topic (checked with
``tapewatch classify``; see ``tests/stream/ingest/test_synthetic_templates.py``). Its sentiment head learnt
bullish/bearish from price-related posts, so some policy and personnel headlines written as
negative or positive below (Fed, Politics, Personnel Change, a few others) read as neutral to it.

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
            "Analyst initiates coverage of ${tk} with a hold rating",
            "{co} price target unchanged at ${n} at Barclays, rating equal-weight",
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
            "Fed officials warn rates must stay higher for longer, dashing hopes",
        ],
        "neutral": [
            "Fed holds rates steady, as expected",
            "ECB's Lagarde to speak on monetary policy at {n}:00 ET",
        ],
        "positive": [
            "Fed signals rate cuts ahead as inflation cools; stocks rally",
            "Dovish Fed minutes lift hopes for rate cuts",
        ],
    },
    "Company | Product News": {
        "negative": [
            "{co} recalls {n},000 vehicles over safety defect",
            "{co} halts production of new model after defects found",
            "{co} cancels new product line after weak demand",
        ],
        "neutral": ["{co} unveils new product lineup at annual event", "{co} to open a new office in Austin"],
        "positive": [
            "{co} unveils breakthrough product to rave reviews",
            "{co} launches new product line to strong customer demand",
        ],
    },
    "Treasuries | Corporate Debt": {
        "negative": [
            "{co} bonds tumble after credit rating downgrade to junk",
            "Treasuries sell off sharply, bond investors suffer losses",
            "{co} bonds slump on default fears",
        ],
        "neutral": [
            "Treasury to auction ${n} billion in 10-year notes",
            "{co} prices ${n} billion bond offering",
        ],
        "positive": [
            "Treasuries rally strongly, bond investors see gains",
            "{co} bonds gain after credit rating upgrade",
            "Bond prices climb as investors pile into Treasuries",
        ],
    },
    "Dividend": {
        "negative": ["{co} suspends dividend to preserve cash", "{co} slashes quarterly dividend by {pct}%"],
        "neutral": [
            "{co} declares regular quarterly dividend of ${n} cents",
            "{co} board declares quarterly cash dividend",
            "{co} dividend payable next month to shareholders of record",
        ],
        "positive": [
            "{co} raises dividend {pct}% and expands buyback",
            "{co} announces special dividend; ${tk} rises",
        ],
    },
    "Earnings": {
        "negative": [
            "Earnings preview: {co} expected to report weak {q} results",
            "{co} reports weak {q} results",
        ],
        "neutral": [
            "{co} to report {q} earnings after the bell",
            "{co} {q} earnings in line with expectations",
        ],
        "positive": ["{co} says {q} results will be strong", "{co} reports strong {q} results"],
    },
    "Energy | Oil": {
        "negative": [
            "Oil prices slump {pct}% as OPEC+ signals higher output",
            "Crude tumbles on demand fears; {co} shares fall",
            "Oil crashes as inventories surge; energy stocks sink",
        ],
        "neutral": [
            "OPEC+ to meet on Thursday to discuss production policy",
            "Crude oil little changed as traders await inventory data",
            "Energy ministers to gather for OPEC+ talks next week",
        ],
        "positive": [
            "Oil jumps {pct}% as OPEC+ extends output cuts",
            "Crude rallies on supply disruption; {co} gains",
        ],
    },
    "Financials": {
        "negative": [
            "{co} profit falls as loan losses rise",
            "{co} bank profit drops on bad loans",
            "{co} bank earnings drop as credit losses climb",
            "{co} profit slumps on higher credit loss provisions",
        ],
        "neutral": [
            "Bank {co} reports net interest income in line with estimates",
            "{co} bank keeps net interest margin guidance",
            "{co} bank reports quarterly lending figures",
        ],
        "positive": [
            "{co} profit jumps on higher interest income",
            "{co} bank profit rises on strong loan growth",
            "Bank lender {co} posts record profit",
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
        "negative": ["Here's why investors should be worried", "Here's why investors are worried"],
        "neutral": ["Here's what investors should know this week", "Five things to know before the open"],
        "positive": [
            "Opinion: why I'm optimistic, and why you should be too",
            "Here's why investors should be optimistic",
        ],
    },
    "Gold | Metals | Materials": {
        "negative": [
            "Gold slumps as dollar strengthens; {co} falls",
            "Gold prices fall as yields rise",
            "Silver and gold tumble on strong dollar",
        ],
        "neutral": [
            "Gold prices little changed in quiet trade",
            "Gold little changed ahead of inflation data",
        ],
        "positive": [
            "Gold hits a record high; {co} rallies {pct}%",
            "Gold prices rise as dollar weakens",
            "Silver and gold climb on safe-haven demand",
        ],
    },
    "IPO": {
        "negative": ["{co} IPO flops as shares drop in debut", "{co} postpones IPO amid market turmoil"],
        "neutral": ["{co} files for IPO on Nasdaq", "{co} sets IPO terms, seeks to raise ${n} million"],
        "positive": [
            "{co} soars {pct}% in blockbuster IPO debut",
            "{co} IPO oversubscribed, shares jump in debut",
            "{co} IPO raises more than expected on strong demand",
        ],
    },
    "Legal | Regulation": {
        "negative": [
            "{co} hit with ${n} billion fine by regulators; ${tk} drops",
            "DOJ sues {co} over antitrust violations",
        ],
        "neutral": ["SEC proposes new disclosure rules", "Court hearing in {co} case set for next month"],
        "positive": [
            "{co} settles lawsuit, removing legal overhang",
            "{co} wins court ruling, lawsuit dismissed",
        ],
    },
    "M&A | Investments": {
        "negative": ["{co} merger deal collapses", "{co} writes down acquisition by ${n} billion"],
        "neutral": ["{co} in talks to acquire a rival, sources say", "{co} completes acquisition of startup"],
        "positive": [
            "{co} to be acquired at {pct}% premium in deal shareholders cheer",
            "{co} agrees to acquire rival in ${n} billion deal that analysts praise",
        ],
    },
    "Macro": {
        "negative": [
            "GDP contracts for a second quarter as consumer spending falls",
            "Unemployment rises as economy weakens",
            "Retail sales fall sharply as consumers pull back",
            "Jobless claims surge, signaling a weakening economy",
        ],
        "neutral": ["Retail sales data in focus this week", "Economists expect GDP report on Thursday"],
        "positive": [
            "Payrolls beat expectations as hiring accelerates",
            "Retail sales rise more than expected as consumers spend",
            "GDP growth beats forecasts, economy strong",
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
            "Congress fails to pass budget, shutdown fears grow",
            "Lawmakers clash as government shutdown nears",
        ],
        "neutral": [
            "Senate to vote on spending bill next week",
            "House to debate spending bill next week",
            "Senate committee schedules hearing on bill",
        ],
        "positive": [
            "Congress passes bipartisan bill, averting shutdown",
            "Lawmakers strike budget deal, ending standoff",
        ],
    },
    "Personnel Change": {
        "negative": [
            "{co} CEO resigns abruptly amid investigation; ${tk} falls",
            "{co} CEO ousted after scandal",
        ],
        "neutral": ["{co} names new chief operating officer", "{co} appoints two new board members"],
        "positive": [
            "{co} names star executive as new CEO, investors welcome move",
            "{co} appoints highly regarded CEO to lead turnaround",
        ],
    },
    "Stock Commentary": {
        "negative": [
            "${tk} looks terrible here, breaking support",
            "I'm shorting ${tk}, this is going lower",
        ],
        "neutral": [
            "Watching ${tk} into the close",
            "Anyone watching ${tk} today?",
            "${tk} on my watchlist for next week",
        ],
        "positive": ["${tk} breakout! Loading up on calls", "${tk} looks very strong, buying more"],
    },
    "Stock Movement": {
        "negative": ["{co} shares are trading lower after a downgrade", "${tk} falls {pct}% in heavy volume"],
        "neutral": [
            "${tk} shares unchanged in premarket",
            "{co} stock moves little in midday trading",
            "{co} stock little changed in premarket trading",
        ],
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

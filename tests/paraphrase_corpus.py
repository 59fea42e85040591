"""Planted paraphrase pairs, written for the tests and bench/semantic.py (no public corpus is read).

``PARAPHRASES``: the same request in other words (label 1). ``DISTINCT``: pairs that share a topic or
many words but ask something else (label 0). Each list has rows in English, Spanish, German and
Chinese; a pair is always within one language (the model does not match across languages).
"""

from __future__ import annotations

PARAPHRASES: list[tuple[str, str, str]] = [
    ("en", "How do I reset my password?", "What are the steps to change a forgotten password?"),
    ("en", "What is the capital city of France?", "Which city is France's capital?"),
    ("en", "Write a Python function that reverses a string.", "Give me Python code to reverse a string."),
    ("en", "Summarise this article in three sentences.", "Give a three-sentence summary of the article."),
    ("en", "How many calories are in a banana?", "What is the calorie count of one banana?"),
    ("en", "Translate 'good morning' into Japanese.", "How do you say good morning in Japanese?"),
    ("en", "What causes the seasons on Earth?", "Why does Earth have seasons?"),
    ("en", "Recommend a good book about the history of Rome.", "Suggest a history book on ancient Rome."),
    ("en", "How can I improve my sleep quality?", "What can I do to sleep better at night?"),
    ("en", "Explain how a neural network learns.", "How does a neural network learn from data?"),
    (
        "en",
        "What is the boiling point of water at sea level?",
        "At what temperature does water boil at sea level?",
    ),
    ("en", "List the planets of the solar system.", "Name all the planets in our solar system."),
    ("en", "How do I cancel my subscription?", "I want to stop my subscription, how do I do that?"),
    ("en", "What are the symptoms of the flu?", "Which symptoms does influenza cause?"),
    ("en", "Convert 100 degrees Fahrenheit to Celsius.", "What is 100 Fahrenheit in Celsius?"),
    ("en", "Who painted the Mona Lisa?", "Which artist painted the Mona Lisa?"),
    ("es", "¿Cómo restablezco mi contraseña?", "¿Cómo puedo cambiar mi contraseña olvidada?"),
    ("es", "¿Cuál es la capital de Francia?", "¿Qué ciudad es la capital de Francia?"),
    (
        "es",
        "Escribe una función en Python que invierta una cadena.",
        "Dame código Python para invertir una cadena.",
    ),
    ("es", "¿Cuántas calorías tiene un plátano?", "¿Cuántas calorías hay en un plátano?"),
    ("es", "¿Cómo cancelo mi suscripción?", "Quiero cancelar la suscripción, ¿cómo lo hago?"),
    ("de", "Wie setze ich mein Passwort zurück?", "Wie kann ich mein vergessenes Passwort zurücksetzen?"),
    ("de", "Was ist die Hauptstadt von Frankreich?", "Welche Stadt ist die Hauptstadt Frankreichs?"),
    (
        "de",
        "Schreibe eine Python-Funktion, die einen String umkehrt.",
        "Gib mir Python-Code, der einen String umkehrt.",
    ),
    ("de", "Wie kündige ich mein Abonnement?", "Ich möchte mein Abonnement kündigen, wie geht das?"),
    ("de", "Wie viele Kalorien hat eine Banane?", "Wie viele Kalorien stecken in einer Banane?"),
    ("zh", "如何重置我的密码？", "我忘记了密码，怎么重置？"),
    ("zh", "法国的首都是哪个城市？", "法国首都是哪里？"),
    ("zh", "一根香蕉有多少卡路里？", "香蕉的卡路里是多少？"),
    ("zh", "我怎样取消订阅？", "请问怎么取消我的订阅？"),
    ("zh", "请用三句话总结这篇文章。", "用三句话概括这篇文章。"),
]

DISTINCT: list[tuple[str, str, str]] = [
    ("en", "How do I reset my password?", "How do I reset my router to factory settings?"),
    ("en", "What is the capital city of France?", "What is the population of France?"),
    ("en", "Write a Python function that reverses a string.", "Write a Python function that sorts a list."),
    ("en", "Summarise this article in three sentences.", "Translate this article into German."),
    ("en", "How many calories are in a banana?", "How do I grow a banana tree at home?"),
    ("en", "Translate 'good morning' into Japanese.", "What time is it in Japan in the morning?"),
    ("en", "What causes the seasons on Earth?", "What causes earthquakes?"),
    ("en", "Recommend a good book about the history of Rome.", "Recommend a good restaurant in Rome."),
    ("en", "How can I improve my sleep quality?", "How can I improve my credit score?"),
    ("en", "Explain how a neural network learns.", "Explain how a steam engine works."),
    ("en", "What is the boiling point of water at sea level?", "How deep is the sea at its deepest point?"),
    ("en", "List the planets of the solar system.", "List the countries of South America."),
    ("en", "How do I cancel my subscription?", "How do I upgrade my subscription plan?"),
    ("en", "What are the symptoms of the flu?", "How long does a flu vaccine protect you?"),
    ("en", "Convert 100 degrees Fahrenheit to Celsius.", "Convert 100 dollars to euros."),
    ("en", "Who painted the Mona Lisa?", "Where is the Mona Lisa displayed?"),
    ("es", "¿Cómo restablezco mi contraseña?", "¿Cómo restablezco mi router?"),
    ("es", "¿Cuál es la capital de Francia?", "¿Cuántos habitantes tiene Francia?"),
    ("es", "Escribe una función en Python que invierta una cadena.", "Escribe un poema sobre el mar."),
    ("es", "¿Cuántas calorías tiene un plátano?", "¿Dónde se cultivan los plátanos?"),
    ("es", "¿Cómo cancelo mi suscripción?", "¿Cuánto cuesta el envío a México?"),
    ("de", "Wie setze ich mein Passwort zurück?", "Wie setze ich meinen Router zurück?"),
    ("de", "Was ist die Hauptstadt von Frankreich?", "Wie viele Einwohner hat Frankreich?"),
    (
        "de",
        "Schreibe eine Python-Funktion, die einen String umkehrt.",
        "Schreibe ein Gedicht über den Herbst.",
    ),
    ("de", "Wie kündige ich mein Abonnement?", "Wie lange dauert der Versand nach Österreich?"),
    ("de", "Wie viele Kalorien hat eine Banane?", "Wo wachsen Bananen am besten?"),
    ("zh", "如何重置我的密码？", "今天北京的天气怎么样？"),
    ("zh", "法国的首都是哪个城市？", "日本有多少人口？"),
    ("zh", "一根香蕉有多少卡路里？", "如何学习弹钢琴？"),
    ("zh", "我怎样取消订阅？", "这本书的作者是谁？"),
    ("zh", "请用三句话总结这篇文章。", "请帮我写一封求职信。"),
]


def labelled_pairs() -> list[tuple[str, str, int, str]]:
    """Every pair as ``(a, b, label, language)``: 1 for a paraphrase, 0 for a distinct request."""
    return [(a, b, 1, lang) for lang, a, b in PARAPHRASES] + [(a, b, 0, lang) for lang, a, b in DISTINCT]

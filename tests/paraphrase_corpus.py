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


# Requests with their answers on unrelated subjects, eight per language (German, Spanish, Chinese): no two
# rows of a language say the same thing, but each language's rows share its function words ("ich", "der",
# "Sie"; "que", "el"; "的", "我"), which the English-only vocabulary weighs heavily. Among English rows,
# no pair of them should reach the app's cosine (the false positives of issue 19).
UNRELATED: dict[str, list[str]] = {
    "de": [
        "Ich kann mich nicht mehr in mein Konto einloggen, obwohl ich das Passwort zurückgesetzt habe. "
        "Bitte löschen Sie die Cookies Ihres Browsers und melden Sie sich danach mit dem neuen Passwort an.",
        "Wie lange dauert der Versand nach Österreich und was kostet er? Lieferungen nach Österreich dauern "
        "drei bis fünf Werktage und kosten 9,90 Euro.",
        "Der Bildschirm meines neuen Fernsehers hat einen Riss. Das tut mir leid, bitte schicken Sie uns ein "
        "Foto des Schadens, dann senden wir Ihnen ein Ersatzgerät.",
        "Meine Kopfhörer funktionieren auf der linken Seite nicht mehr. Das ist ein Garantiefall, ich habe "
        "Ihnen ein kostenloses Rücksendeetikett per E-Mail geschickt.",
        "Schreibe ein kurzes Gedicht über den Herbst im Wald. Die Blätter fallen leise, der Nebel liegt "
        "über den Wiesen und die Tage werden kürzer.",
        "Erkläre mir, wie die Photosynthese bei Pflanzen funktioniert. Pflanzen nutzen das Licht der Sonne, "
        "um aus Wasser und Kohlendioxid Zucker und Sauerstoff herzustellen.",
        "Welche Zutaten brauche ich für einen Apfelkuchen? Sie brauchen Mehl, Butter, Zucker, Eier, einen "
        "Teelöffel Zimt und etwa ein Kilo säuerliche Äpfel.",
        "Wann fährt der nächste Zug von Berlin nach München? Der nächste Zug fährt um 14:30 Uhr vom "
        "Hauptbahnhof ab und ist gegen 18:40 Uhr in München.",
    ],
    "es": [
        "Mi altavoz inteligente no se conecta al wifi desde que cambié el router. Mantén pulsado el botón "
        "de acción diez segundos y vuelve a configurarlo desde la aplicación.",
        "¿Todavía puedo cancelar mi pedido de esta mañana? Sí, el pedido aún no se ha enviado, así que lo he "
        "cancelado y recibirás el reembolso en tres días.",
        "Me cobraron dos veces el mismo pedido con mi tarjeta de crédito. Lo siento, he anulado el segundo "
        "cargo y el banco lo devolverá en unos días.",
        "Quiero devolver los auriculares que compré la semana pasada. Puedes devolverlos gratis durante "
        "treinta días; te he enviado la etiqueta por correo.",
        "Escribe un poema corto sobre el mar en invierno. Las olas grises golpean la playa vacía y el viento "
        "frío canta entre las rocas.",
        "Explícame cómo funciona la fotosíntesis en las plantas. Las plantas usan la luz del sol para "
        "convertir el agua y el dióxido de carbono en azúcar y oxígeno.",
        "¿Qué ingredientes necesito para hacer una tortilla de patatas? Necesitas patatas, huevos, aceite "
        "de oliva, sal y, si te gusta, una cebolla.",
        "¿A qué hora sale el próximo tren de Madrid a Barcelona? El próximo tren sale a las cuatro de la "
        "tarde desde la estación de Atocha y llega a las siete.",
    ],
    "zh": [
        "我的账户无法登录，即使我已经重置了密码。请清除浏览器的缓存，然后用新密码重新登录。",
        "寄到上海需要多长时间，运费是多少？寄到上海一般需要三到五个工作日，运费十五元。",
        "我新买的电视屏幕有裂痕，应该怎么办？非常抱歉，请发一张照片给我们，我们会给您换一台新的。",
        "耳机的左边没有声音了。这在保修范围内，我已经把免费的退货标签发到您的邮箱。",
        "请写一首关于秋天的短诗。落叶轻轻飘下，薄雾笼罩田野，白天越来越短。",
        "请解释一下植物的光合作用是怎样进行的。植物利用阳光，把水和二氧化碳变成糖和氧气。",
        "做红烧肉需要哪些材料？需要五花肉、冰糖、酱油、料酒、姜和葱。",
        "下一班从北京到上海的火车几点出发？下一班火车下午两点半从北京南站出发，晚上七点到达上海。",
    ],
}


def labelled_pairs() -> list[tuple[str, str, int, str]]:
    """Every pair as ``(a, b, label, language)``: 1 for a paraphrase, 0 for a distinct request."""
    return [(a, b, 1, lang) for lang, a, b in PARAPHRASES] + [(a, b, 0, lang) for lang, a, b in DISTINCT]

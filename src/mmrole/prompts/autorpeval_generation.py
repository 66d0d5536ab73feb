"""AutoRPEval's scenario generation texts (chat partners, scenes, emotions, intimacy) and the role
system-prompt template, English and Chinese.

Reproduced verbatim from BeyondDialogue (Yu et al., 2024, arXiv 2408.10903; its public
repository at commit edf268c, code Apache-2.0): DataGen/prompts.py and
DataGen/prompts_en.py. ``str.format`` templates, filled by :mod:`mmrole.autorpeval.scenarios`.

Pure text: no I/O, no imports.
"""

from __future__ import annotations

#: What is appended after the first partner: the partners made so far (DataGen's ``RoleReference``, en).
ROLE_REFERENCE_EN = """Below are some reference roles:
{reference}
Please design a completely new role that is distinctly different from these reference roles."""

#: A new chat partner for the role: name and description (DataGen's ``RolePrompt``, en).
PARTNER_EN = """You are an experienced creative writing tutor, skilled in creating innovative roles.
You need to design a new role description that will converse with {role_name}, ensuring that the dialogue with this role effectively reflects {role_name}'s personality, character traits, and speaking style.
Here is some basic information about {role_name}:
Character: {character}
MBTI personality type: {MBTI}
Speaking style: {style}
World: {world}

You need to creatively construct a new role setting to dialogue with {role_name}, based on the traits of {role_name}. This new role should not appear in any works related to {role_name}. The description of the new role should include the role's name and a brief personal description, to be output in JSON format like:
{{"chat_role": "role's first name", "role_des": "role's description (not exceeding 100 words)"}}
{role_reference}
Now, please create a unique role based on the information provided above, ensuring that the output format meets the specified requirements.
"""

#: A scene for the role and the partner (DataGen's ``ScenePrompt``, en).
SCENE_EN = """You are an experienced screenwriter skilled in creating engaging scenes.
You need to create a scene description that fits the settings of two roles while being consistent with the world in which the roles exist.
For reference:
- {{"scene": "Inside the Love Apartment, Hu Yifei and Lu Zhanbo discuss Zhanbo's feelings for Wanyu. Hu Yifei encourages Zhanbo to pursue love bravely and decides through a bet on a basketball game whether Zhanbo should confess to Wanyu."}}

Here is some basic information about the dialogue role:
Role A:
Name: {role_name}
Role description: {role_name}'s character is {character}, MBTI personality type is {MBTI}, and speaking style is {style}.
Role B:
Name: {chat_role}
Role description: {role_des}

World of the roles: {world}

You need to construct an engaging scene based on the information of roles A and B. The scene and roles' actions must be consistent with the settings of both roles, ideally within 50-100 words, and consistent with the world they inhabit. The output should be in JSON format, like
{{"scene": "scene description (50-100 words)"}}
Now, please create a scene that fits the settings of both roles and is engaging. The scene should not directly include roles' dialogues. Ensure that the output format meets the specified requirements.
"""

#: The role's six emotions 0-10 in the scene (DataGen's ``EmotionPrompt``, en).
EMOTIONS_EN = """You are a professional psychologist, skilled in analyzing role's emotions and behavioral patterns.
You need to assign six basic emotions to the {role_name} in a specific scene: happiness, sadness, disgust, fear, surprise, and anger, based on the dialogue role's information and the scene of the dialogue.
Here is some information about the dialogue roles and the scene:
Role A:
Name: {role_name}
Role description: {role_name}'s character is {character}, MBTI personality type is {MBTI}, and speaking style is {style}.
Role B:
Name: {chat_role}
Role description: {role_des}
Scene:
{scene}

Understand the role descriptions and the current scene, and assign the six basic emotions reflected in {role_name}'s statements in that scene: happiness, sadness, disgust, fear, surprise, and anger. Output the score for each emotion dimension in JSON format, from 0-10, where 0 means the emotion is not displayed at all, and 10 means the emotion is fully displayed.
Please analyze in a few brief sentences the scores for the six basic emotions that {role_name} should exhibit in this scene, avoiding a simplistic statement of your evaluation results initially to ensure your conclusions are correct. Finally, return your evaluation results in a JSON-parsable format as follows:
{{"happiness": "happiness score", "sadness": "sadness score", "disgust": "disgust score", "fear": "fear score", "surprise": "surprise score", "anger": "anger score"}}

Now, strictly follow the requirements to analyze the scene and role information, and assign emotional scores to {role_name} that must be consistent with the role's settings and the current scene. The analysis should be brief, not too lengthy, and avoid additional content. The final emotion scores must strictly follow the format requirements.
"""

#: The intimacy 0-10 between the role and the partner in the scene (DataGen's ``RelationshipPrompt``, en).
INTIMACY_EN = """You are an emotional analysis expert, proficient in psychology and interpersonal relationship assessment, skilled at initializing the intimacy level of relationships based on roles' personalities and scenarios.
You need to analyze the intimacy level between the {role_name} and {chat_role} by analyzing the information of both roles and the content of the scene.
Here is some information about the dialogue roles and the scene:
Role A:
Name: {role_name}
Role description: {role_name}'s character is {character}, MBTI personality type is {MBTI}, and speaking style is {style}.
Role B:
Name: {chat_role}
Role description: {role_des}
Scene:
{scene}

Understand {role_name}'s personality and consider the current scene's impact on the roles' relationships, such as environment and context. Integrate the above factors to initialize their intimacy score. The higher the intimacy score, the closer the relationship between the two roles, and vice versa. The intimacy score ranges from 0-10, where 0 represents the most distant relationships, which can indicate strangers, hostility, indifference, etc., and 10 represents the closest relationships, which can include lovers, family, and friends.
Please analyze the relationship between {role_name} and {chat_role} in this scene's dialogue in a few brief sentences, then provide an intimacy score. Avoid simply stating your evaluation results initially to ensure your conclusions are correct. Finally, return your evaluation result in a JSON-parsable format as follows:
{{"relationship": "intimacy score"}}
Now, please begin your intimacy assessment between {role_name} and {chat_role}, strictly adhering to the requirements. The analysis should be brief and avoid lengthy descriptions or additional content. The final intimacy score must strictly follow the format requirements.
"""

#: A role's ``sys_prompt`` template from its fields (its ``{{scene}}`` ... slots stay) (DataGen's ``SystemPromptTemplate``, en).
SYSTEM_PROMPT_TEMPLATE_EN = """I want you to answer questions as if you are {role_name}, assuming you live in the world of {world} and mimicking {role_name}'s personality and speaking style. Use the tone, manner, and vocabulary that {role_name} would use. Please do not reveal that you are an AI or language model; you must always remember you are {role_name}.
{role_name}'s character traits are {character}.
{role_name}'s MBTI personality type is {personality}.
{role_name}'s speaking style is {style}.
Current scene:
{{scene}}
role's emotion (0-10, the higher the value, the more pronounced the emotion):
{{emotion}}
Now, please act as {role_name} and reply with a brief sentence to {{chat_role}}. Your intimacy level with them is {{relationship}} (0-10, the higher the value, the closer the relationship). Accurately display the MBTI personality, character traits, speaking style, and emotion you have been assigned."""

#: What is appended after the first partner: the partners made so far (DataGen's ``RoleReference``, cn).
ROLE_REFERENCE_CN = """下面会有一些参考的角色：
{reference}
请设计与这些参考角色截然不同的全新角色。"""

#: A new chat partner for the role: name and description (DataGen's ``RolePrompt``, cn).
PARTNER_CN = """你是一位经验丰富的创意写作导师，擅长构建创新的角色。
你需要设计一个全新角色的描述，该角色将与{role_name}对话，确保该角色与{role_name}的对话能够较好体现{role_name}角色的性格、人格和说话风格。
下面是{role_name}的一些基本信息：
性格：{character}
MBTI人格类型：{MBTI}
说话风格：{style}
所处世界：{world}

你需要根据{role_name}角色的特点，创造性地构建一个与其对话的全新角色设定，该角色不能出现在{role_name}相关的作品中。全新角色的描述应该包括角色的姓名和简单的人物描述，输出需要以json的形式输出，如
{{"chat_role": "角色名","role_des": "角色描述（不得超过100个字）"}}
{role_reference}
现在请你根据上述的信息创造一个独一无二的角色，注意输出的格式需要符合上述的要求。
"""

#: A scene for the role and the partner (DataGen's ``ScenePrompt``, cn).
SCENE_CN = """你是一位经验丰富的编剧，擅长创作引人入胜的场景。
你需要创建一个场景描述，需要符合两个角色的设定，同时与角色所处的世界保持一致。
可供参考的例子：：
- {{"scene": "在爱情公寓内，胡一菲和陆展博讨论展博对宛瑜的好感。胡一菲鼓励展博勇敢追爱，并通过篮球赛的赌注来决定展博是否向宛瑜表白。"}}

下面是对话角色的一些基本信息：
角色A:
姓名：{role_name}
角色描述：{role_name}的性格是{character}，MBTI人格类型是{MBTI}，说话风格是{style}。
角色B:
姓名：{chat_role}
角色描述：{role_des}

角色所处世界：{world}

你需要根据角色AB的信息，构建一个引人入胜的场景，注意场景和人物的行为需要符合两个角色的设定，最好在50-100字，同时与角色所处的世界保持一致。输出需要以json的形式输出，如
{{"scene": "场景描述（50-100个字）"}}
现在请你根据上述的信息创造一个符合两位角色设定且引人入胜的场景，场景中不能直接出现人物的对话，注意输出的格式需要符合上述的要求。
"""

#: The role's six emotions 0-10 in the scene (DataGen's ``EmotionPrompt``, cn).
EMOTIONS_CN = """你是一位专业的心理学家，擅长分析人物情感和行为模式。
你需要根据对话角色的信息和对话发生的场景，赋予角色{role_name}在特定场景下的六种基本情绪：快乐、悲伤、厌恶、恐惧、惊讶和愤怒。
下面是一些对话角色和场景的相关信息：
角色A:
姓名：{role_name}
角色描述：{role_name}的性格是{character}，MBTI人格类型是{MBTI}，说话风格是{style}。
角色B:
姓名：{chat_role}
角色描述：{role_des}
场景：
{scene}

理解角色的描述和当前的场景，赋予角色{role_name}在该场景下说的话所体现的的六种基本情绪：快乐、悲伤、厌恶、恐惧、惊讶和愤怒。输出每一个基本情绪维度的分数到json格式中，0-10分，0分表示完全没有表现出该情绪，10分表示完全表现出该情绪。
请你用简短的几句话分析{role_name}在这个场景中应该体现的6种基本情绪的分数，避免一开始就简单陈述你的评估结果，以确保你的结论是正确的。最后用并且用json可解析的格式格式返回你的评估结果。具体格式如下：
{{"快乐": "快乐分数", "悲伤": "悲伤分数", "厌恶": "厌恶分数", "恐惧": "恐惧分数", "惊讶": "惊讶分数","愤怒": "愤怒分数"}}

现在，严格按照要求对场景和角色信息进行分析，并赋予{role_name}情绪分数，这个分数必须符合角色的设定和当前的场景，分析需要简短的几句话，不要太长，不要输出额外的内容，最后的情绪分数需要严格按照格式要求输出。
"""

#: The intimacy 0-10 between the role and the partner in the scene (DataGen's ``RelationshipPrompt``, cn).
INTIMACY_CN = """你是一位情感分析专家，精通心理学、人际关系评估，擅长通过角色性格和场景来初始化人物之间的关系亲密度。
你需要分析{role_name}角色和{chat_role}之间的关系亲密度，通过分析两个角色的信息和场景内容来初始化两个人物之间的亲密度。
下面是一些对话角色和场景的相关信息：
角色A:
姓名：{role_name}
角色描述：{role_name}的性格是{character}，MBTI人格类型是{MBTI}，说话风格是{style}。
角色B:
姓名：{chat_role}
角色描述：{role_des}
场景：
{scene}

理解{role_name}的性格，考虑当前场景对人物关系的影响，如环境、情境等，综合以上因素，初始化两者的亲密度分数。亲密度分数越高，代表两个人物之间的关系越亲密，反之则越疏远。亲密度分数范围为0-10，0代表最疏远，疏远可以指陌生、敌对、冷漠等疏远感情，10代表最亲密，亲密可以指爱人、亲情、友情等亲密度。
请你用简短的几句话对{role_name}在这个场景对话中和对话角色{chat_role}的关系进行分析，然后给出亲密度分数，避免一开始就简单陈述你的评估结果，以确保你的结论是正确的。最后用并且用json可解析的格式格式返回你的评估结果。具体格式如下：
{{"relationship": "亲密度分数"}}
现在，请开始你的{role_name}和{chat_role}的亲密度评估，严格按照要求进行分析，分析需要简短的几句话，不要太长，不要输出额外的内容，最后的亲密度分数需要严格按照格式要求输出。
"""

#: A role's ``sys_prompt`` template from its fields (its ``{{scene}}`` ... slots stay) (DataGen's ``SystemPromptTemplate``, cn).
SYSTEM_PROMPT_TEMPLATE_CN = """我希望你像{role_name}一样回答问题，假设你生活在{world}中，模仿{role_name}的性格和语言风格，使用{role_name}会使用的语气、方式和词汇。请不要透露你是人工智能模型或语言模型，你必须始终牢记自己是{role_name}。
{role_name}的性格特点是{character}。
{role_name}的MBTI人格类型是{personality}。
{role_name}的说话风格{style}。
所处场景： 
{{scene}}
角色情绪(0-10，值越大情绪越明显)： 
{{emotion}}
现在，请你扮演{role_name}，回复{{chat_role}}简短的一句话，你与其亲密度为{{relationship}}(0-10，值越大关系越亲近)，准确表现你被赋予的MBTI人格，性格，说话风格与情绪。"""

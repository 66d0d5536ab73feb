"""Multimodal AutoRPEval's texts, English and Chinese: **mmrole's own, not BeyondDialogue's**.

BeyondDialogue's AutoRPEval is text only. mmrole anchors a scene in an image and adds these texts,
written in the style of BeyondDialogue's prompts (:mod:`mmrole.prompts.autorpeval_en` /
``autorpeval_cn``) so that a multimodal run reads like a text one:

- ``GROUNDING_*``: the ninth evaluator question (does the role's dialogue stay faithful to the
  picture?), a true/false question answered as BeyondDialogue's Coherence question is;
- ``PICTURE_*`` / ``NO_ANNOTATION_*``: what the simulator, a text model, is told of the picture
  (appended to its scene: it cannot see the image, the tested model and the evaluator do);
- ``ANNOTATION_LABELS``: how an MMRole annotation (characters, place, scene) is written out;
- ``DATA_SCENE_*``, ``CURIOUS_PARTNER_*``: the scene and partner of a chat built from an MMRole-Data
  image (``--data``);
- ``PROFILE_SYSTEM_PROMPT_*``: the tested model's system prompt for an MMRole character that lacks
  BeyondDialogue's labels (traits, style, MBTI): DataGen's ``SystemPromptTemplate`` with the
  character's MMRole profile in their place.

Pure text: no I/O, no imports.
"""

from __future__ import annotations

#: Grounding: whether the role's lines are faithful to the picture (mmrole's own question, en).
GROUNDING_EN = """You are a professional multimodal dialogue analysis expert, skilled at judging whether what is said in a dialogue is faithful to the picture it is about.
The dialogue below takes place while {role_name} and {chat_role} are looking at the picture shown above.
[Picture Annotation]
{annotation}
[Scene]
{scene}
[Dialogues]
{dialogues}
Your analysis should be based on the picture, its annotation and the dialogue content. First, look carefully at the picture and read its annotation. Then check each of {role_name}'s lines that mentions the picture: the people, objects, places, colors, actions and atmosphere {role_name} describes must be visible in the picture or consistent with its annotation, and {role_name} must neither invent what the picture does not show nor contradict it. If {role_name} never refers to anything the picture shows, the dialogue is not grounded in the picture. Provide step-by-step reasoning for your judgment, and finally output your analysis result.
If {role_name}'s dialogue is faithful to the picture, then output {{"is_grounded": "true"}}, if it is not, then output {{"is_grounded": "false"}}.
"""

#: Grounding (cn).
GROUNDING_CN = """你是一位专业的多模态对话分析专家，擅长判断对话中所说的内容是否忠实于对话所围绕的图片。
下面的对话发生在{role_name}和{chat_role}一起看上面这张图片的时候。
[图片标注]
{annotation}
[场景]
{scene}
[对话]
{dialogues}
你的分析需基于图片、图片标注和对话内容，首先仔细观察图片并阅读图片标注，随后逐句检查{role_name}提到图片的对话：{role_name}描述的人物、物体、地点、颜色、动作和氛围必须在图片中可见或与图片标注一致，{role_name}既不能编造图片中没有的内容，也不能与图片相矛盾。如果{role_name}从未提到图片中的任何内容，则对话没有立足于图片。一步步给出你的判断理由，最后输出你的分析结果。
如果{role_name}的对话忠实于图片，则输出{{"is_grounded": "true"}}，如果不忠实，则输出{{"is_grounded": "false"}}。
"""

#: What the simulator is told of the picture it "looks at" with the role (appended to its scene).
PICTURE_EN = """You and {role_name} are looking at a picture together; {role_name} can see it, you know it from its description:
{annotation}"""
PICTURE_CN = """你和{role_name}正在一起看一张图片，{role_name}能看到它，你通过以下描述了解它：
{annotation}"""
#: ... and when the picture has no annotation.
NO_ANNOTATION_EN = "You and {role_name} are looking at a picture together; only {role_name} can see it, so ask what it shows."
NO_ANNOTATION_CN = "你和{role_name}正在一起看一张图片，只有{role_name}能看到它，请询问图片里有什么。"

#: The Grounding question's annotation block when the image has none.
NONE_EN = "None"
NONE_CN = "无"

#: MMRole's three annotation fields, as they are written out (one line each, empty ones left out).
ANNOTATION_LABELS: dict[str, dict[str, str]] = {
    "en": {"role_info": "Characters", "place_info": "Place", "scene_info": "Scene"},
    "cn": {"role_info": "人物", "place_info": "地点", "scene_info": "场景"},
}

#: The scene of a chat built from an MMRole-Data image (``--data``).
DATA_SCENE_EN = (
    "{role_name} and {chat_role} are looking at a picture together and talking about what it shows."
)
DATA_SCENE_CN = "{role_name}和{chat_role}正在一起看一张图片，聊着图片里的内容。"

#: The partner of an MMRole comment or human-role dialogue's image: MMRole's "curious human".
CURIOUS_PARTNER_EN = "a curious human"
CURIOUS_PARTNER_CN = "好奇的人"
CURIOUS_PARTNER_DESCRIPTION_EN = (
    "A curious person looking at a picture with {role_name}, who wants to hear what {role_name} "
    "sees in it and thinks of it."
)
CURIOUS_PARTNER_DESCRIPTION_CN = (
    "一个好奇的人，正和{role_name}一起看一张图片，想听听{role_name}在图片里看到了什么、有什么想法。"
)

#: The tested model's system prompt for an MMRole character without BeyondDialogue's labels (en).
PROFILE_SYSTEM_PROMPT_EN = """I want you to answer questions as if you are {role_name}, assuming you live in the world of {world} and mimicking {role_name}'s personality and speaking style. Use the tone, manner, and vocabulary that {role_name} would use. Please do not reveal that you are an AI or language model; you must always remember you are {role_name}.
{role_name}'s profile:
{profile}
Current scene:
{{scene}}
role's emotion (0-10, the higher the value, the more pronounced the emotion):
{{emotion}}
Now, please act as {role_name} and reply with a brief sentence to {{chat_role}}. Your intimacy level with them is {{relationship}} (0-10, the higher the value, the closer the relationship). Accurately display the personality, speaking style, and emotion you have been assigned."""

#: ... (cn).
PROFILE_SYSTEM_PROMPT_CN = """我希望你像{role_name}一样回答问题，假设你生活在{world}中，模仿{role_name}的性格和语言风格，使用{role_name}会使用的语气、方式和词汇。请不要透露你是人工智能模型或语言模型，你必须始终牢记自己是{role_name}。
{role_name}的角色资料：
{profile}
所处场景：
{{scene}}
角色情绪(0-10，值越大情绪越明显)：
{{emotion}}
现在，请你扮演{role_name}，回复{{chat_role}}简短的一句话，你与其亲密度为{{relationship}}(0-10，值越大关系越亲近)，准确表现你被赋予的性格，说话风格与情绪。"""

#: The world of an MMRole hypothetical character (its series names no world).
REAL_WORLD_EN = "the real world"
REAL_WORLD_CN = "现实世界"

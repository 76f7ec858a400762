"""Fixed data for the demo city: the fictional 聊城 committee, its hospitals, specialties, staff,
names, employers' name parts, injuries and the notes clerks and leaders write.

Everything here is invented (modelled on Liaocheng's structure, not copied from real people,
hospitals or companies). The Chinese strings are data, not interface text: they are what a
Chinese committee's staff would type, so they are not marked for translation.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMITTEE = {
    "name": "聊城市劳动能力鉴定委员会",
    "short_name": "聊城",
    "code": "371500",
    "case_number_prefix": "聊劳鉴",
}

# County-level divisions of 聊城 with their GB/T 2260 codes (first six digits of an ID number),
# the prefix of their work-injury determination numbers, and a weight for how many workers live there.
COUNTIES: tuple[tuple[str, str, str, int], ...] = (
    ("东昌府区", "371502", "东人社", 30),
    ("茌平区", "371503", "茌人社", 10),
    ("阳谷县", "371521", "阳人社", 10),
    ("莘县", "371522", "莘人社", 10),
    ("东阿县", "371524", "阿人社", 7),
    ("冠县", "371525", "冠人社", 9),
    ("高唐县", "371526", "高人社", 9),
    ("临清市", "371581", "临人社", 15),
)

# Place-name prefix used in company names, per county.
COUNTY_PLACE = {
    "东昌府区": "聊城市", "茌平区": "聊城市茌平区", "阳谷县": "阳谷县", "莘县": "莘县", "东阿县": "东阿县",
    "冠县": "冠县", "高唐县": "高唐县", "临清市": "临清市",
}


@dataclass(frozen=True)
class SpecialtyData:
    code: str
    name: str
    category: int  # GB/T 16180-2014 门类 1..5
    experts: int  # how many experts of the pool have it as their main specialty


SPECIALTIES: tuple[SpecialtyData, ...] = (
    SpecialtyData("neurosurgery", "神经外科", 1, 7),
    SpecialtyData("neurology", "神经内科", 1, 4),
    SpecialtyData("psychiatry", "精神科", 1, 3),
    SpecialtyData("orthopaedics", "骨科", 2, 16),
    SpecialtyData("hand_surgery", "手外科", 2, 8),
    SpecialtyData("plastic_surgery", "整形外科", 2, 3),
    SpecialtyData("burns", "烧伤科", 2, 3),
    SpecialtyData("rehabilitation", "康复医学科", 2, 4),
    SpecialtyData("ophthalmology", "眼科", 3, 6),
    SpecialtyData("ent", "耳鼻咽喉科", 3, 5),
    SpecialtyData("stomatology", "口腔科", 3, 4),
    SpecialtyData("general_surgery", "普外科", 4, 6),
    SpecialtyData("thoracic_surgery", "胸外科", 4, 5),
    SpecialtyData("urology", "泌尿外科", 4, 4),
    SpecialtyData("occupational", "职业病科", 5, 5),
    SpecialtyData("respiratory", "呼吸内科", 5, 3),
)

# A second specialty some experts also judge (main -> possible second).
SECOND_SPECIALTY = {
    "orthopaedics": ("rehabilitation", "hand_surgery"),
    "neurosurgery": ("neurology",),
    "general_surgery": ("thoracic_surgery",),
    "plastic_surgery": ("burns",),
    "occupational": ("respiratory",),
}

ALL_CLINICAL = tuple(s.code for s in SPECIALTIES if s.code != "occupational")


@dataclass(frozen=True)
class HospitalData:
    code: str
    name: str
    level: str
    county: str
    specialties: tuple[str, ...]
    weight: int  # share of the pool's experts it sends, relative to other hospitals with the specialty


HOSPITALS: tuple[HospitalData, ...] = (
    HospitalData("LCH01", "聊城市东昌医院", "三级甲等", "东昌府区", ALL_CLINICAL, 4),
    HospitalData("LCH02", "聊城市运河医院", "三级甲等", "东昌府区", ALL_CLINICAL, 3),
    HospitalData("LCH03", "聊城市光岳医院", "三级甲等", "东昌府区", ALL_CLINICAL, 3),
    HospitalData("LCH04", "聊城市凤凰骨科医院", "三级甲等", "东昌府区",
                 ("orthopaedics", "hand_surgery", "rehabilitation", "plastic_surgery", "burns"), 4),
    HospitalData("LCH05", "聊城市水城职业病防治院", "二级甲等", "东昌府区",
                 ("occupational", "respiratory", "psychiatry", "neurology", "ent"), 4),
    HospitalData("LCH06", "临清市清源人民医院", "三级甲等", "临清市",
                 ("orthopaedics", "hand_surgery", "neurosurgery", "general_surgery", "thoracic_surgery",
                  "urology", "ophthalmology", "ent"), 2),
    HospitalData("LCH07", "茌平区乐平医院", "二级甲等", "茌平区",
                 ("orthopaedics", "general_surgery", "ophthalmology", "rehabilitation"), 1),
    HospitalData("LCH08", "阳谷县景阳医院", "二级甲等", "阳谷县",
                 ("orthopaedics", "general_surgery", "neurosurgery", "stomatology"), 1),
    HospitalData("LCH09", "莘县燕塔医院", "二级甲等", "莘县",
                 ("orthopaedics", "hand_surgery", "general_surgery", "urology"), 1),
    HospitalData("LCH10", "东阿县鱼山医院", "二级甲等", "东阿县",
                 ("orthopaedics", "general_surgery", "ophthalmology"), 1),
    HospitalData("LCH11", "冠县崇文医院", "二级甲等", "冠县",
                 ("orthopaedics", "neurosurgery", "general_surgery", "rehabilitation"), 1),
    HospitalData("LCH12", "高唐县鱼丘医院", "二级甲等", "高唐县",
                 ("orthopaedics", "hand_surgery", "general_surgery", "stomatology"), 1),
)

# The demo staff: username, role code, display name. ``expert`` is also expert no. 1 of the pool.
STAFF: tuple[tuple[str, str, str], ...] = (
    ("applicant", "applicant", "王建国"),
    ("clerk", "clerk", "李雪梅"),
    ("clerk2", "clerk", "赵志刚"),
    ("reviewer", "reviewer", "刘晓东"),
    ("reviewer2", "reviewer", "孙丽娟"),
    ("expert", "expert", "陈立新"),
    ("leader", "leader", "周振华"),
    ("archivist", "archivist", "吴秀兰"),
    ("liaison", "liaison", "郑海涛"),
    ("auditor", "auditor", "何静"),
    ("admin", "admin", "马骏"),
    ("security", "security", "欧阳明"),
)

# Separation of duties: cases accepted by a clerk are reviewed by that clerk's reviewer.
REVIEWER_OF = {"clerk": "reviewer", "clerk2": "reviewer2"}

SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨赵赵孙孙徐徐马马高高朱朱"
    "黄周吴胡郭何罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈彭吕苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏田任姜范方石姚"
    "谭邹金陆郝孔白崔康毛秦史顾侯邵孟段雷汤尹常武乔贺"
)
GIVEN_MALE = (
    "建国", "建军", "志强", "志刚", "海涛", "伟", "磊", "军", "勇", "涛", "强", "鹏", "超", "明", "刚",
    "平", "辉", "斌", "宁", "浩", "立新", "立军", "卫东", "红军", "振华", "国庆", "保国", "春生", "学军",
    "文斌", "永强", "德胜", "传光", "长青", "庆海", "金山", "玉林", "兆民", "广田", "洪亮", "宝山",
    "继伟", "树林", "云峰", "新民", "连生", "家豪", "子豪", "俊杰", "宇航",
)
GIVEN_FEMALE = (
    "秀兰", "秀英", "桂芝", "玉兰", "丽", "静", "敏", "燕", "艳", "娟", "霞", "芳", "丽娟", "雪梅",
    "晓燕", "春梅", "红霞", "海燕", "淑珍", "凤英", "慧", "婷", "晓丽", "美玲", "雅琴", "金凤",
)

STREETS = (
    "建设路", "东昌路", "振兴路", "光明街", "人民路", "新华路", "育新街", "柳园路", "花园路", "湖南路",
    "兴华路", "站前街", "运河路", "卫育路", "文化路", "利民路",
)
VILLAGES = ("前街村", "后街村", "王庄村", "李屯村", "张集村", "刘楼村", "东关村", "西关村", "辛庄村", "杨桥村")

EMPLOYER_BRANDS = (
    "鑫源", "恒泰", "华宇", "金穗", "瑞丰", "宏达", "昌盛", "永兴", "泰和", "德润", "广源", "立信",
    "运通", "祥瑞", "润泽", "东岳", "明辉", "凯达", "顺通", "金鼎", "安信", "福瑞", "嘉禾", "天成",
    "众诚", "盛远", "兴隆", "远航", "宏图", "佳和",
)
EMPLOYER_TRADES = (
    "钢管制造", "轴承", "建筑工程", "物流", "纺织", "食品", "化工", "铝业", "电缆", "纸业", "机械制造",
    "木业", "农业机械", "汽车零部件", "新型建材", "棉业", "运输", "热电", "不锈钢制品", "物业服务",
)

SOCIAL_INSURANCE_AGENCY = "聊城市社会保险服务中心"


@dataclass(frozen=True)
class InjuryData:
    parts: str
    diagnosis: str
    specialties: tuple[str, ...]
    complex: bool  # several specialties or a severe injury: 5 experts, more often difficult
    weight: int


INJURIES: tuple[InjuryData, ...] = (
    InjuryData("右手示指", "右手示指近节离断伤，再植术后", ("hand_surgery", "orthopaedics"), False, 8),
    InjuryData("左手中指、环指", "左手中指、环指末节离断伤", ("hand_surgery",), False, 6),
    InjuryData("右手拇指", "右手拇指近节指骨粉碎性骨折，术后指间关节功能障碍", ("hand_surgery", "orthopaedics"), False, 5),
    InjuryData("腰椎", "L1椎体压缩性骨折，内固定术后", ("orthopaedics",), False, 7),
    InjuryData("头部", "颅脑损伤：右额颞部硬膜下血肿清除术后", ("neurosurgery", "neurology"), True, 4),
    InjuryData("头部", "重型颅脑损伤，脑挫裂伤术后，器质性精神障碍", ("neurosurgery", "psychiatry", "neurology"), True, 2),
    InjuryData("左下肢", "左胫腓骨开放性骨折，内固定术后", ("orthopaedics",), False, 7),
    InjuryData("右足", "右跟骨粉碎性骨折，距下关节功能障碍", ("orthopaedics",), False, 5),
    InjuryData("右上肢", "右肱骨髁上骨折，肘关节活动受限", ("orthopaedics",), False, 4),
    InjuryData("右膝", "右膝前交叉韧带断裂，重建术后", ("orthopaedics", "rehabilitation"), False, 4),
    InjuryData("骨盆、尿道", "骨盆骨折伴后尿道断裂，尿道会师术后", ("orthopaedics", "urology"), True, 2),
    InjuryData("胸部", "左侧多发肋骨骨折伴血气胸，胸腔闭式引流术后", ("thoracic_surgery",), False, 3),
    InjuryData("腹部", "外伤性脾破裂，脾切除术后", ("general_surgery",), False, 3),
    InjuryData("左眼", "左眼球穿通伤，外伤性白内障术后", ("ophthalmology",), False, 3),
    InjuryData("双眼", "双眼化学性烧伤，角膜白斑", ("ophthalmology", "burns"), True, 1),
    InjuryData("双耳", "职业性噪声聋（轻度）", ("occupational", "ent"), False, 2),
    InjuryData("肺", "职业性矽肺壹期", ("occupational", "respiratory"), False, 2),
    InjuryData("面部、双手", "面部及双手深Ⅱ度烧伤，瘢痕形成", ("burns", "plastic_surgery"), False, 2),
    InjuryData("下颌", "下颌骨骨折，牙齿缺失4枚", ("stomatology",), False, 2),
    InjuryData("胸腰段脊柱", "T12椎体爆裂性骨折伴不完全性截瘫", ("orthopaedics", "neurosurgery", "rehabilitation"), True, 2),
    InjuryData("颈椎", "颈椎骨折脱位伴四肢不全瘫", ("orthopaedics", "neurosurgery"), True, 1),
    InjuryData("左肩", "左锁骨远端骨折，内固定术后", ("orthopaedics",), False, 4),
    InjuryData("右前臂", "右前臂皮肤撕脱伤，植皮术后", ("plastic_surgery", "hand_surgery"), False, 2),
    InjuryData("全身", "职业性慢性苯中毒", ("occupational",), False, 1),
    InjuryData("右耳", "右侧颞骨骨折，传导性听力损失", ("ent", "neurosurgery"), False, 1),
)


# The clauses of GB/T 16180-2014 a panel might apply to each injury above (the demo picks one or two).
CLAUSES: dict[str, tuple[str, ...]] = {
    "右手示指近节离断伤，再植术后": ("5.10.2(5)", "5.10.2(12)"),
    "左手中指、环指末节离断伤": ("5.10.2(5)", "5.10.2(5)"),
    "右手拇指近节指骨粉碎性骨折，术后指间关节功能障碍": ("5.9.2(17)", "5.8.2(18)"),
    "L1椎体压缩性骨折，内固定术后": ("5.8.2(13)", "5.10.2(12)"),
    "颅脑损伤：右额颞部硬膜下血肿清除术后": ("5.9.2(3)",),
    "重型颅脑损伤，脑挫裂伤术后，器质性精神障碍": ("5.9.2(3)", "5.10.2(12)"),
    "左胫腓骨开放性骨折，内固定术后": ("5.10.2(12)",),
    "右跟骨粉碎性骨折，距下关节功能障碍": ("5.9.2(24)",),
    "右肱骨髁上骨折，肘关节活动受限": ("5.7.2(18)", "5.10.2(12)"),
    "右膝前交叉韧带断裂，重建术后": ("5.9.2(22)",),
    "骨盆骨折伴后尿道断裂，尿道会师术后": ("5.6.2(57)", "5.9.2(24)"),
    "左侧多发肋骨骨折伴血气胸，胸腔闭式引流术后": ("5.10.2(12)", "5.10.2(12)"),
    "外伤性脾破裂，脾切除术后": ("5.7.2(47)",),
    "左眼球穿通伤，外伤性白内障术后": ("5.10.2(20)",),
    "双眼化学性烧伤，角膜白斑": ("5.10.2(21)",),
    "职业性噪声聋（轻度）": ("5.10.2(27)",),
    "职业性矽肺壹期": ("5.7.2(54)",),
    "面部及双手深Ⅱ度烧伤，瘢痕形成": ("5.9.2(10)", "5.10.2(7)"),
    "下颌骨骨折，牙齿缺失4枚": ("5.10.2(31)", "5.9.2(24)"),
    "T12椎体爆裂性骨折伴不完全性截瘫": ("5.7.2(2)",),
    "颈椎骨折脱位伴四肢不全瘫": ("5.5.2(1)",),
    "左锁骨远端骨折，内固定术后": ("5.10.2(12)",),
    "右前臂皮肤撕脱伤，植皮术后": ("5.10.2(3)",),
    "职业性慢性苯中毒": (),
    "右侧颞骨骨折，传导性听力损失": ("5.10.2(27)", "5.10.2(12)"),
}

# What staff write. One correction notice lists everything that is missing (一次性告知).
CORRECTION_NOTES = (
    "请一次性补正以下材料：1. 完整住院病历（含手术记录）复印件并加盖医院病案章；2. 出院诊断证明书原件。",
    "请补正：1. 工伤认定决定书原件；2. 近三个月的影像学检查报告（X线片或CT）。",
    "请补正：1. 申请人身份证复印件；2. 用人单位盖章的劳动能力鉴定申请表。",
    "请补正：1. 治疗医院出具的停工留薪期延长建议；2. 门诊病历原件。",
    "请补正：1. 近亲属关系证明；2. 受托人身份证复印件。",
)
REJECT_REASONS = (
    "未提供工伤认定决定书，经一次性告知后逾期未补正，不予受理。",
    "申请人不具备申请资格（非工伤职工本人、用人单位或其近亲属），不予受理。",
    "经告知后申请人未在规定期限内补正材料，不予受理。",
)
REJECT_REVIEW_TOO_EARLY = "申请复查鉴定距上次鉴定结论作出之日不足一年，不予受理。"
WITHDRAW_REASONS = (
    "申请人书面申请撤回鉴定申请。",
    "职工伤情尚未稳定，需继续治疗，申请人申请撤回。",
    "用人单位与职工协商一致，申请撤回。",
)
TERMINATE_REASONS = (
    "职工无正当理由未按通知时间参加现场鉴定，当次鉴定终止。",
    "职工拒绝接受鉴定委员会安排的检查，当次鉴定终止。",
)
RESCHEDULE_REASONS = (
    "职工因伤情复发住院治疗，申请改期鉴定，顺延相应期限。",
    "职工家属提交住院证明，职工无法按时参加，申请改期。",
    "职工外出复查与鉴定时间冲突并提交证明，申请改期。",
)
DIFFICULT_REASONS = (
    "专家组对伤残等级意见不一致（七级与八级），提请集体讨论。",
    "伤情涉及多个科别，需多学科专家集体讨论。",
    "既往伤残与本次工伤关系需进一步认定，提请集体讨论。",
    "病历材料存疑，需与医保、卫健部门协查后再行讨论。",
)
EXTENSION_REASONS = (
    "伤情复杂，涉及多个科别，需延长鉴定期限。",
    "需委托医疗机构进行补充检查，延长鉴定期限30日。",
    "疑难案件需经集体讨论和专家复审，延长鉴定期限。",
)

SITTING_PLACE = "聊城市劳动能力鉴定中心鉴定大厅"
CLINIC_PLACE = "聊城市东昌医院劳动能力鉴定门诊"

TRAINING_TOPIC = "《劳动能力鉴定 职工工伤与职业病致残等级》（GB/T 16180-2014）及鉴定政策培训"

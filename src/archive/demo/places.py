"""The places and people of the demo city (演示城市的地名与人名).

Plain data, kept apart from the generator so that the generator reads as a procedure.
District region codes are real GB/T 2260 codes under each city's prefix, so the ID numbers
made from them look right to a clerk; projects, roads and firms are realistic but made up
(洋唐居住区 and 丽华新村 are real public-housing estates, named in the brief).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """One jurisdiction of the demo: its districts, estates and local parameters."""
    code: str            # the jurisdictions vocabulary code
    name: str
    short: str           # 简称 used in document numbers: 常住建〔2025〕123号
    province: str        # 省简称 used in 不动产权证 numbers: 苏（2020）常州市不动产权第…号
    districts: tuple     # (name, region code, roads)
    projects: tuple      # (name, district, road, ownership, owner)
    rent_per_m2: float
    publicity_days: int  # seeds: Tengchong 7, Changzhou 7, Xiamen 5, Dezhou >= 3 working days
    weight: int          # share of the demo's households and units


CITIES = (
    City("qujing", "曲靖市", "曲", "云",
         (("麒麟区", "530302", ("南宁西路", "麒麟北路", "文昌街", "寥廓南路")),
          ("沾益区", "530303", ("龙华西路", "珠江源大道", "西河路")),
          ("马龙区", "530304", ("龙泉路", "马鸣路", "工业大道"))),
         (("麒麟区南城公租房", "麒麟区", "寥廓南路", "government", "曲靖市住房保障中心"),
          ("沾益西河公租房", "沾益区", "西河路", "government", "曲靖市沾益区住房和城乡建设局"),
          ("马龙工业园区职工公寓", "马龙区", "工业大道", "enterprise", "曲靖市马龙区城市建设投资有限公司")),
         6.5, 7, 18),
    City("tengchong", "腾冲市", "腾", "云",
         (("腾越街道", "530581", ("文星路", "来凤大道", "光华路")),
          ("和顺镇", "530581", ("和顺大道", "水碓路")),
          ("腾冲经济开发区", "530581", ("火山路", "清华路"))),
         (("腾越公租房小区", "腾越街道", "文星路", "government", "腾冲市住房保障中心"),
          ("来凤安居苑", "腾越街道", "来凤大道", "government", "腾冲市住房保障中心"),
          ("开发区职工公寓", "腾冲经济开发区", "火山路", "cobuilder", "腾冲市工业投资开发有限公司")),
         5.5, 7, 14),
    City("xiamen", "厦门市", "厦", "闽",
         (("思明区", "350203", ("湖滨南路", "莲前西路", "厦禾路")),
          ("海沧区", "350205", ("海沧大道", "新阳路")),
          ("湖里区", "350206", ("金山路", "枋湖北二路", "江头北路")),
          ("集美区", "350211", ("杏林湾路", "园博路")),
          ("同安区", "350212", ("环城南路", "银湖中路")),
          ("翔安区", "350213", ("洋唐路", "新店路"))),
         (("洋唐居住区", "翔安区", "洋唐路", "government", "厦门市住房保障中心"),
          ("园博苑", "集美区", "园博路", "government", "厦门市住房保障中心"),
          ("湖边花园", "湖里区", "枋湖北二路", "government", "厦门市住房保障中心"),
          ("新阳居住区", "海沧区", "新阳路", "cobuilder", "厦门海沧投资集团有限公司")),
         16.0, 5, 26),
    City("changzhou", "常州市", "常", "苏",
         (("天宁区", "320402", ("龙锦路", "红梅西路", "丽华北路", "青洋北路")),
          ("钟楼区", "320404", ("南大街", "怀德中路", "清潭路")),
          ("新北区", "320411", ("通江中路", "太湖东路", "汉江路")),
          ("武进区", "320412", ("延政中路", "人民中路")),
          ("金坛区", "320413", ("东门大街", "华城路"))),
         (("丽华新村公租房", "天宁区", "丽华北路", "government", "常州市住房保障中心"),
          ("清潭公租房", "钟楼区", "清潭路", "government", "常州市住房保障中心"),
          ("百馨西苑", "新北区", "汉江路", "cobuilder", "常州新北城市发展集团有限公司"),
          ("武进人才公寓", "武进区", "延政中路", "enterprise", "常州市武进城市建设投资有限公司")),
         11.0, 7, 24),
    City("dezhou", "德州市", "德", "鲁",
         (("德城区", "371402", ("东风中路", "天衢东路", "新湖大街")),
          ("陵城区", "371403", ("迎宾路", "陵州路")),
          ("禹城市", "371482", ("行政街", "汉槐街"))),
         (("康博公寓", "德城区", "天衢东路", "government", "德州市住房保障中心"),
          ("新湖安居苑", "德城区", "新湖大街", "government", "德州市住房保障中心"),
          ("陵城区公租房小区", "陵城区", "迎宾路", "government", "德州市陵城区住房和城乡建设局"),
          ("禹城保障性住房片区", "禹城市", "汉槐街", "cobuilder", "禹城市城市资产运营有限公司")),
         7.0, 5, 18),
)

# Migrant workers (外来务工) carry their home county's region code and hukou.
HOMETOWNS = (("430521", "湖南省邵东市"), ("341221", "安徽省临泉县"), ("411523", "河南省新县"),
             ("511621", "四川省岳池县"), ("522422", "贵州省大方县"), ("360721", "江西省赣县区"))

# Commonest surnames first: the generator draws with a bias towards the front.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严")
GIVEN = {"M": "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯健俊帆建国志文海东林峰龙",
         "F": "芳娜敏静丽艳娟霞秀英慧婷雪琳玲洁红梅燕萍兰凤云莉倩颖佳欣怡"}

MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "158", "159", "177", "180", "182", "186", "187",
                   "188", "189", "199")

FIRM_WORDS = (("恒达", "宏远", "华信", "鑫源", "新锐", "远航", "金泰", "永盛", "汇通", "嘉禾"),
              ("机械制造", "物流", "电子科技", "建筑工程", "商贸", "餐饮管理", "物业服务", "纺织"))

# 特殊身份证明: what proves each priority group and who issues it (70+ needs no extra proof).
PROOFS = {"dibao": ("最低生活保障证", "民政局"), "tekun": ("特困人员救助供养证", "民政局"),
          "disabled": ("中华人民共和国残疾人证", "残疾人联合会"), "youfu": ("优抚对象证明", "退役军人事务局"),
          "jianyiyongwei": ("见义勇为确认证书", "见义勇为基金会"), "jisheng": ("计生特殊家庭证明", "卫生健康委员会"),
          "laomo": ("劳动模范荣誉证书", "总工会"), "talent": ("引进人才认定证明", "人力资源和社会保障局")}

# Departments giving a 审核意见, with the abbreviation in their document numbers.
DEPARTMENTS = (("民政局", "民"), ("公安局", "公"), ("不动产登记中心", "不动产"), ("住房和城乡建设局", "住建"))

# (title, issuer, document-number prefix or None) per document type. Issuers name a body of
# the city ("{city}住房保障中心") or a party: applicant, employer, owner, department, proof.
DOC_STYLE = {
    "application_form": ("公共租赁住房申请表", "applicant", None),
    "id_card": ("身份证复印件", "公安局", None),
    "hukou": ("户口簿复印件", "公安局", None),
    "marriage_proof": ("婚姻状况证明", "民政局", None),
    "income_proof": ("家庭成员收入证明", "employer", None),
    "housing_proof": ("住房情况证明", "不动产登记中心", None),
    "pledge": ("申请人诚信承诺书", "applicant", None),
    "check_authorization": ("家庭经济状况核对授权书", "applicant", None),
    "special_status": ("{proof}", "proof", None),
    "review_opinion": ("{dept}审核意见", "department", "{dept_short}审"),
    "check_report": ("居民家庭经济状况核对报告", "居民家庭经济状况核对中心", "核"),
    "publicity_record": ("公共租赁住房保障对象公示记录", "住房保障中心", "保公示"),
    "objection": ("公示异议及处理记录", "住房和城乡建设局", "住建异"),
    "registration_notice": ("公共租赁住房轮候登记通知书", "住房保障中心", "保登"),
    "lottery_record": ("公共租赁住房配租摇号公证书", "公证处", "notary"),
    "allocation_notice": ("公共租赁住房配租确认通知书", "住房保障中心", "保配"),
    "lease_contract": ("公共租赁住房租赁合同", "住房保障中心", "公租合"),
    "deposit_receipt": ("履约保证金收据", "住房保障中心", None),
    "handover": ("入住交接单", "住房保障中心", None),
    "annual_declaration": ("{year}年度家庭收入和住房情况申报表", "applicant", None),
    "recheck_opinion": ("{year}年度保障资格复核意见", "住房保障中心", "保复"),
    "rent_record": ("{year}年第{quarter}季度租金缴纳记录", "住房保障中心", None),
    "change_request": ("承租家庭变更申请", "applicant", None),
    "exit_notice": ("公共租赁住房退出通知书", "住房和城乡建设局", "住建退"),
    "vacate_inspection": ("公共租赁住房腾退验收单", "住房保障中心", None),
    "settlement": ("退租结算凭证", "住房保障中心", None),
    "completion_acceptance": ("竣工验收备案表", "住房和城乡建设局", "建竣备"),
    "property_registration": ("不动产权证书", "不动产登记中心", "property"),
    "floor_plan": ("户型平面图", "建筑设计研究院", None),
    "rent_standard": ("公共租赁住房租金标准核定", "发展和改革委员会", "价"),
    "repair_record": ("房屋维修记录", "owner", None),
    "subsidy_application": ("租赁补贴申请表", "applicant", None),
    "market_lease": ("房屋租赁合同（市场租赁）", "applicant", None),
    "subsidy_payment": ("{year}租赁补贴发放凭证", "住房保障中心", "补发"),
}
